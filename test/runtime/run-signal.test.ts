// A task's ctx.signal against a local SQS (fauxqs) behind a proxy that refuses every lease
// extension: it aborts with LeaseLostError once the message's lease is lost, whether the signal is
// the lease's own (no soft time limit) or one that also carries a limit; and a limit still aborts
// it with TimeLimitExceededError while the lease holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { sample, waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

/** Why each run's signal aborted, by its first argument. */
const aborted = new Map<string, string>();
const waitForAbort = ([label]: [string], signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const record = () => {
      aborted.set(label, (signal.reason as Error).name);
      resolve();
    };
    if (signal.aborted) record();
    else signal.addEventListener('abort', record, { once: true });
  });
const unlimited = defineTask({
  name: 'unlimited',
  args: z.tuple([z.string()]),
  run: (args, ctx) => waitForAbort(args, ctx.signal),
});
const limited = defineTask({
  name: 'limited',
  args: z.tuple([z.string()]),
  timeLimitSeconds: 60,
  run: (args, ctx) => waitForAbort(args, ctx.signal),
});
const short = defineTask({
  name: 'short',
  args: z.tuple([z.string()]),
  timeLimitSeconds: 1,
  run: (args, ctx) => waitForAbort(args, ctx.signal),
});

let sqs: SqsProcess;
let network: FaultyNetwork;
let worker: Worker | undefined;
const metrics = createMetrics('run_signal', { defaultMetrics: false });
const queues = ['unlimited', 'limited', 'short'];

beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
  await createQueues(
    sqs,
    queues.map((queue) => `signals-local-${queue}`),
    { visibilityTimeoutSeconds: 2 },
  );
  worker = await startWorker({
    sqs: { region: 'us-east-1', endpoint: network.endpoint },
    queues: queues.map((queue) => ({ queue, task: queue })),
    tasks: [unlimited, limited, short],
    naming: { env: 'local', user: 'signals' },
    concurrency: 3,
    metrics,
    log: createLogger('run-signal', 'silent'),
    waitTimeSeconds: 1,
  });
}, 60_000);
afterAll(async () => {
  await worker?.stop(1);
  await network?.close();
  await sqs?.stop();
});

const counted = async (queue: string, state: string) =>
  sample(
    await metrics.registry.metrics(),
    `run_signal_consumer_tasks_count_total{name="${queue}",queue="${queue}",state="${state}"}`,
  ) ?? 0;

describe("a run's ctx.signal", () => {
  it.each(['unlimited', 'limited'])(
    'aborts with LeaseLostError when its lease is lost (task %s)',
    async (task) => {
      network.fail(['ChangeMessageVisibilityBatch']);
      await send(sqs, `signals-local-${task}`, encodeMessage({ task, args: [task], queue: task }));
      await waitFor('the run to see its signal abort', async () => aborted.get(task), 30_000);
      expect(aborted.get(task)).toBe('LeaseLostError');
      await waitFor('the lost lease to be counted', async () =>
        (await counted(task, 'lease_lost')) >= 1 ? true : undefined,
      );
      expect(await counted(task, 'deleted')).toBe(0);
    },
    40_000,
  );

  it('aborts with TimeLimitExceededError at its soft limit while the lease holds', async () => {
    network.fail([]);
    await send(sqs, 'signals-local-short', encodeMessage({ task: 'short', args: ['short'], queue: 'short' }));
    await waitFor('the run to see its signal abort', async () => aborted.get('short'), 30_000);
    expect(aborted.get('short')).toBe('TimeLimitExceededError');
    expect(await counted('short', 'lease_lost')).toBe(0);
  }, 40_000);
});
