// A send SQS did whose answer was lost: the SDK sends it again, and SQS holds two copies of one
// retry (or of one next step of a chain). The process that ran the first copy recognises the
// second — same task id, same retries, sent within the same minute — and only deletes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker } from '../../templates/worker/src/runtime/worker.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { sendTasks } from '../support/workers.ts';

const naming = { env: 'local', user: 'twice' };
/** Runs per `<task id> <retries>`. */
const runs = new Map<string, number>();
/** Fails its first run, succeeds at its retry. */
const flaky = defineTask({
  name: 'flaky',
  args: z.tuple([]),
  retry: { maxRetries: 3, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run(_args, ctx) {
    const key = `${ctx.id} ${ctx.retries}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    if (ctx.retries === 0) throw new Error('first run fails');
  },
});

let sqs: SqsProcess;
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
  await createQueues(sqs, [fullQueueName('flakies', naming)]);
});
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});

describe('a retry SQS holds twice', () => {
  it('runs once: 20 % of the retries’ SendMessage answered with an error after SQS did it', async () => {
    const worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: network.endpoint },
      queues: [{ queue: 'flakies', task: 'flaky' }],
      tasks: [flaky],
      naming,
      concurrency: 7,
      metrics: createMetrics('twice', { defaultMetrics: false }),
      log: createLogger('twice', 'silent'),
      waitTimeSeconds: 1,
    });
    network.inject([{ operations: ['SendMessage'], error: 'internal-error', probability: 0.2, when: 'after' }]);
    try {
      const ids = await sendTasks(
        sqs,
        'twice',
        Array.from({ length: 60 }, () => []),
        { queue: 'flakies', task: 'flaky' },
      );
      await waitFor(
        'every retry to run',
        async () => (ids.every((id) => runs.has(`${id} 1`)) ? true : undefined),
        90_000,
      );
      await waitFor(
        'the queue to be empty',
        async () => ((await depth(sqs, fullQueueName('flakies', naming))) === 0 ? true : undefined),
        90_000,
      );
      // The SDK sent some retries again after an answer was lost: SQS got those twice.
      expect(network.counts().afterCommit.SendMessage ?? 0).toBeGreaterThan(3);
      const twice = ids.filter((id) => (runs.get(`${id} 1`) ?? 0) > 1);
      expect(twice).toEqual([]);
    } finally {
      network.inject([]);
      await worker.stop(1);
    }
  }, 180_000);
});
