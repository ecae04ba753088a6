// Finding the queues at start-up while SQS is busy: throttling and its 5xx answers are waited out
// (within a deadline); a missing queue, a refused credential and an unreachable SQS are not.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueues } from '../../templates/worker/src/runtime/queues.ts';
import { createSqsClient } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker } from '../../templates/worker/src/runtime/worker.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const naming = { env: 'local', user: 'busy' };
const QUEUES = ['one', 'two', 'three'].map((queue) => ({ queue, task: 'nap' }));
const nap = defineTask({ name: 'nap', args: z.tuple([]), run: () => undefined });
const STARTUP_CALLS = ['GetQueueUrl', 'GetQueueAttributes'];

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
afterEach(async () => {
  network.inject([]);
  await network.set('pass');
});

const client = () => createSqsClient({ region: 'us-east-1', endpoint: network.endpoint });
const silent = createLogger('queues', 'silent');
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error) => error,
  );

describe('a start while SQS throttles', () => {
  it(
    'starts every time: 8 starts in a row, 30 % of their GetQueueUrl and GetQueueAttributes throttled',
    async () => {
      network.inject([{ operations: STARTUP_CALLS, error: 'throttled', probability: 0.3, when: 'before' }]);
      for (let start = 0; start < 8; start++) {
        const worker = await startWorker({
          sqs: { region: 'us-east-1', endpoint: network.endpoint },
          queues: QUEUES,
          tasks: [nap],
          naming,
          concurrency: 1,
          metrics: createMetrics('busy', { defaultMetrics: false }),
          log: silent,
          waitTimeSeconds: 1,
        });
        expect(worker.queues.map(({ fullName }) => fullName)).toEqual(QUEUES.map(({ queue }) => `busy-local-${queue}`));
        await worker.stop(0);
      }
      expect(network.counts().failed.GetQueueUrl).toBeGreaterThan(0);
    },
    5 * 60_000,
  );

  it('waits out SQS’s 5xx answers too, and logs each attempt', async () => {
    const lines: string[] = [];
    const log = { warn: (fields: object) => void lines.push(JSON.stringify(fields)) };
    const sqsClient = client();
    // Every answer an error for a while: only trying again past the SDK's own 3 attempts gets through.
    network.inject([{ operations: STARTUP_CALLS, error: 'internal-error', probability: 1, when: 'before' }]);
    const resolving = resolveQueues(sqsClient, QUEUES.slice(0, 1), naming, { log, deadlineMs: 60_000 });
    resolving.catch(() => {}); // awaited below
    await waitFor('an attempt logged', async () => (lines.length > 0 ? true : undefined));
    network.inject([]);
    const [queue] = await resolving;
    expect(queue?.fullName).toBe('busy-local-one');
    expect(lines[0]).toMatch(/"attempt":1/);
    sqsClient.destroy();
  }, 60_000);

  it('gives up at its deadline with SQS’s error, when SQS stays busy', async () => {
    network.inject([{ operations: STARTUP_CALLS, error: 'throttled', probability: 1, when: 'before' }]);
    const sqsClient = client();
    const error = await failure(resolveQueues(sqsClient, QUEUES.slice(0, 1), naming, { log: silent, deadlineMs: 1 }));
    expect(error?.name).toMatch(/^(ThrottlingException|RequestThrottled)$/);
    sqsClient.destroy();
  }, 60_000);
});

describe('a start that cannot succeed', () => {
  it('fails at once on a missing queue: asked once, not again', async () => {
    const sqsClient = client();
    const before = network.counts().seen.GetQueueUrl ?? 0;
    const error = await failure(
      resolveQueues(sqsClient, [{ queue: 'absent', task: 'nap' }], naming, { log: silent, deadlineMs: 60_000 }),
    );
    expect(error?.name).toBe('QueueNotFoundError');
    // The queue and its dead-letter queue, each asked once.
    expect((network.counts().seen.GetQueueUrl ?? 0) - before).toBe(2);
    sqsClient.destroy();
  });

  it('fails at once when SQS cannot be reached', async () => {
    await network.set('refuse');
    const sqsClient = client();
    const error = await failure(resolveQueues(sqsClient, QUEUES, naming, { log: silent, deadlineMs: 60_000 }));
    expect(error?.message).toMatch(/ECONNREFUSED/);
    sqsClient.destroy();
  });
});
