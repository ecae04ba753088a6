// An SQS that answers, but slowly (2–8 s per answer), is not an outage: the worker stays ready and
// its tasks run — on an idle queue (long polls) and a rate-limited one (short polls) alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker } from '../../templates/worker/src/runtime/worker.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { sendTasks } from '../support/workers.ts';

const naming = { env: 'local', user: 'slow' };
const QUEUES = [
  { queue: 'idle', task: 'note' },
  { queue: 'limited', task: 'note', ratelimit: 'gentle' },
];
const ran = new Set<string>();
const note = defineTask({
  name: 'note',
  args: z.tuple([]),
  run(_args, ctx) {
    ran.add(ctx.id);
  },
});

let sqs: SqsProcess;
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
  await createQueues(
    sqs,
    QUEUES.map(({ queue }) => fullQueueName(queue, naming)),
  );
});
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});

describe('an SQS slow to answer', () => {
  it('keeps the worker ready while every answer takes 2–8 s, runs its tasks, and turns not-ready once SQS is silent', async () => {
    const worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: network.endpoint },
      queues: QUEUES,
      tasks: [note],
      naming,
      concurrency: 3,
      metrics: createMetrics('slow', { defaultMetrics: false }),
      log: createLogger('slow', 'silent'),
      // The default long poll (10 s), and a limiter that grants what is asked: its queue polls for 1 s.
      hooks: { limiterFor: (binding) => (binding.ratelimit ? { acquire: async (wanted) => wanted } : undefined) },
    });
    try {
      network.latency([2000, 8000]);
      const samples: boolean[] = [];
      // 45 s: several long polls of each queue, each answered 2–8 s late.
      for (let sample = 0; sample < 90; sample++) {
        samples.push(worker.isReady());
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const ids = [
        ...(await sendTasks(sqs, 'slow', [[], []], { queue: 'idle', task: 'note' })),
        ...(await sendTasks(sqs, 'slow', [[], []], { queue: 'limited', task: 'note' })),
      ];
      await waitFor('the tasks to run', async () => (ids.every((id) => ran.has(id)) ? true : undefined), 90_000);
      expect(samples.filter((ready) => !ready)).toEqual([]);
      expect(worker.isReady()).toBe(true);

      // Silent is not slow: no answer at all turns it not-ready.
      await network.set('blackhole');
      await waitFor('not ready', async () => (worker.isReady() ? undefined : true), 90_000);
      await network.set('pass');
      network.latency(0);
      await waitFor('ready again', async () => (worker.isReady() ? true : undefined), 90_000);
    } finally {
      network.latency(0);
      await network.set('pass');
      await worker.stop(1);
    }
  }, 300_000);
});
