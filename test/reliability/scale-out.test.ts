// The fleet KEDA would run, simulated (test/support/keda.ts): real worker processes started and
// SIGTERMed as replicas by KEDA's aws-sqs-queue rule on a local SQS's real depth. A burst of
// sleeping tasks must take the replicas to their bound and back, each task run exactly once (no
// replica is killed, so nothing may run twice), every scale-in a drain that exits 0. Nothing here
// is timed: each wait is for a state, with room for a loaded machine.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { type ScaleOut, type ScaleOutSpec, startScaleOut } from '../support/keda.ts';
import { waitFor } from '../support/process.ts';
import { depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { killWorkers, MINUTE, ran, sendNaps, setUp, startWorkerProcess } from '../support/workers.ts';

let sqs: SqsProcess;
let fleet: ScaleOut | undefined;
beforeAll(async () => {
  sqs = await startSqsProcess();
});
afterAll(async () => {
  await sqs?.stop();
});
afterEach(async () => {
  // After a failure too: no more polls, no replica left behind.
  const stopping = fleet?.stop().catch(() => undefined);
  await killWorkers();
  await stopping;
  await killWorkers();
  fleet = undefined;
});

/** `count` nap lengths from 20 to 100 ms. */
const naps = (count: number) => Array.from({ length: count }, () => 20 + Math.floor(Math.random() * 81));

/**
 * Runs a burst of `tasks` naps through a fleet scaled by `spec` (its one trigger on the user's
 * queue), replicas of WORKER_CONCURRENCY = `concurrency`, one process each; waits until every task
 * ran and the replicas are back at `settled`, then stops the fleet. With `trickleUntilScaledIn`,
 * tasks keep coming after the burst, 5 every 250 ms, until that many replicas were scaled in and
 * exited (two minutes at most): those scale-ins stop workers that are receiving and running.
 */
async function burst(
  user: string,
  tasks: number,
  concurrency: number,
  spec: Omit<ScaleOutSpec, 'triggers'> & { triggers: Omit<ScaleOutSpec['triggers'][number], 'queueURL'>[] },
  settled: number,
  trickleUntilScaledIn = 0,
) {
  const RUN_LOG = await setUp(sqs, user, 30);
  const queue = fullQueueName('naps', { env: 'local', user });
  const queueURL = await resolveQueueUrl(sqs.client, queue);
  fleet = startScaleOut(
    sqs.client,
    { ...spec, triggers: spec.triggers.map((trigger) => ({ ...trigger, queueURL })) },
    async () => {
      const worker = await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_CONCURRENCY: String(concurrency) });
      return {
        async stop() {
          worker.process.kill('SIGTERM');
          return (await worker.process).exitCode;
        },
      };
    },
  );
  const running = fleet;
  const ids = await sendNaps(sqs, user, naps(tasks));
  const trickleEnds = Date.now() + 2 * MINUTE;
  while (running.exits.length < trickleUntilScaledIn && Date.now() < trickleEnds) {
    ids.push(...(await sendNaps(sqs, user, naps(5))));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const scaledInUnderLoad = running.exits.length;
  await waitFor(
    `all ${ids.length} tasks to run`,
    async () => ((await ran(RUN_LOG)).length >= ids.length ? true : undefined),
    5 * MINUTE,
  );
  await waitFor('an empty queue', async () => ((await depth(sqs, queue)) === 0 ? true : undefined), MINUTE);
  await waitFor(
    `the replicas back at ${settled}, the others drained`,
    async () => (running.running() === settled && running.draining() === 0 ? true : undefined),
    2 * MINUTE,
  );
  await running.stop();
  const runs = await ran(RUN_LOG);
  return { ids, runs, fleet: running, scaledInUnderLoad };
}

describe('a fleet scaled by KEDA on queue depth', () => {
  it(
    'from 0 to 4 replicas and back to 0 for a burst of 2,500 sleeping tasks: each run once, every scale-in a drain that exits 0',
    async () => {
      const { ids, runs, fleet } = await burst(
        'scale0',
        2500,
        5,
        {
          pollingInterval: 2,
          minReplicaCount: 0,
          maxReplicaCount: 4,
          cooldownPeriod: 10,
          scaleDownStabilizationWindowSeconds: 6,
          // queueLength = WORKER_CONCURRENCY × WORKER_PROCESSES, as the ScaledObject sets it.
          triggers: [{ queueLength: 5 }],
        },
        0,
      );
      expect(runs).toHaveLength(ids.length);
      expect(new Set(runs)).toEqual(new Set(ids));

      const { timeline } = fleet;
      console.info(
        `scale-out 0 → 4: ${timeline.map(({ at, metrics, running }) => `${Math.round(at / 100) / 10}s ${metrics[0]}→${running}`).join(', ')}`,
      );
      expect(Math.max(...timeline.map((point) => point.running))).toBe(4);
      const peak = timeline.findIndex((point) => point.running === 4);
      // The bound was reached while the burst waited, and left only once it was gone.
      expect(timeline[peak]?.metrics[0]).toBeGreaterThan(0);
      const firstFall = timeline.findIndex((point, index) => index > peak && point.running < 4);
      expect(timeline[firstFall - 1]?.metrics[0]).toBeLessThan(4 * 5);
      expect(timeline.at(-1)?.running).toBe(0);
      // Every replica started was scaled in, and drained: exit 0.
      expect(fleet.exits).toEqual(Array(fleet.started()).fill(0));
    },
    10 * MINUTE,
  );

  it(
    'from 1 to 3 replicas and back to 1 at queueLength 7, activation 20, visible messages only: 2,000 tasks, each run once',
    async () => {
      const { ids, runs, fleet } = await burst(
        'scale1',
        2000,
        7,
        {
          pollingInterval: 1.5,
          minReplicaCount: 1,
          maxReplicaCount: 3,
          cooldownPeriod: 3600,
          scaleDownStabilizationWindowSeconds: 4,
          triggers: [{ queueLength: 7, activationQueueLength: 20, scaleOnInFlight: false }],
        },
        1,
      );
      expect(runs).toHaveLength(ids.length);
      expect(new Set(runs)).toEqual(new Set(ids));

      const { timeline } = fleet;
      console.info(
        `scale-out 1 → 3: ${timeline.map(({ at, metrics, running }) => `${Math.round(at / 100) / 10}s ${metrics[0]}→${running}`).join(', ')}`,
      );
      expect(Math.max(...timeline.map((point) => point.running))).toBe(3);
      // minReplicaCount 1: once up, never below it.
      expect(Math.min(...timeline.map((point) => point.running))).toBe(1);
      expect(timeline.at(-1)?.running).toBe(1);
      // The two above the minimum were scaled in, the last by stop(): each drained and exited 0.
      expect(fleet.exits).toEqual(Array(fleet.started()).fill(0));
    },
    10 * MINUTE,
  );

  it(
    'scales in while tasks keep coming (0 → 5 → fewer, queueLength 3): the replicas stopped mid-work drain, exit 0, and each task runs once',
    async () => {
      const { ids, runs, fleet, scaledInUnderLoad } = await burst(
        'scale-busy',
        1500,
        3,
        {
          pollingInterval: 1,
          minReplicaCount: 0,
          maxReplicaCount: 5,
          cooldownPeriod: 5,
          scaleDownStabilizationWindowSeconds: 3,
          triggers: [{ queueLength: 3 }],
        },
        0,
        2,
      );
      expect(runs).toHaveLength(ids.length);
      expect(new Set(runs)).toEqual(new Set(ids));

      const { timeline } = fleet;
      console.info(
        `scale-in under load: ${ids.length} tasks, ${scaledInUnderLoad} scale-ins while they kept coming; ${timeline.map(({ at, metrics, running }) => `${Math.round(at / 100) / 10}s ${metrics[0]}→${running}`).join(', ')}`,
      );
      expect(Math.max(...timeline.map((point) => point.running))).toBe(5);
      expect(scaledInUnderLoad).toBeGreaterThanOrEqual(2);
      expect(timeline.at(-1)?.running).toBe(0);
      expect(fleet.exits).toEqual(Array(fleet.started()).fill(0));
    },
    10 * MINUTE,
  );
});
