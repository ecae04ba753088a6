// Batched deletes when SQS fails some entries of a batch: those it says to try again are tried
// again (a few times, with back-off), so a message done is not delivered again to run twice.
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BatchDeleter } from '../../templates/worker/src/runtime/deleter.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { createSqsClient, resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';
import { sendTasks } from '../support/workers.ts';

let sqs: SqsProcess;
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
});
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});
afterEach(() => network.failEntries([], 0));

const client = () => createSqsClient({ region: 'us-east-1', endpoint: network.endpoint });

async function receiveAll(url: string, count: number) {
  const handles: string[] = [];
  await waitFor(`${count} received`, async () => {
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    handles.push(...Messages.map(({ ReceiptHandle = '' }) => ReceiptHandle));
    return handles.length >= count ? true : undefined;
  });
  return handles;
}

describe('BatchDeleter', () => {
  it.each([
    [1, 0.25],
    [23, 0.5],
    [40, 0.25],
  ])(
    'deletes all of %i messages while SQS fails %f of the entries it is sent',
    async (count, fraction) => {
      const name = `del-local-entries-${count}`;
      await createQueues(sqs, [name]);
      const url = await resolveQueueUrl(sqs.client, name);
      for (let index = 0; index < count; index++) await send(sqs, name, `m${index}`);
      const handles = await receiveAll(url, count);
      const sqsClient = client();
      const deleter = new BatchDeleter(sqsClient, url);
      const before = network.counts().entriesFailed.DeleteMessageBatch ?? 0;
      network.failEntries(['DeleteMessageBatch'], fraction);
      const results = await Promise.allSettled(handles.map((handle) => deleter.delete(handle)));
      network.failEntries([], 0);
      // Each entry has 5 tries: at 25 % one in a thousand still fails, at 50 % one in 32.
      const lost = results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []));
      for (const reason of lost) expect(reason).toMatch(/InternalError.*\(5 tries\)/);
      expect(lost.length).toBeLessThanOrEqual(fraction > 0.25 ? 4 : 1);
      expect(await depth(sqs, name)).toBe(lost.length);
      if (count > 10) expect(network.counts().entriesFailed.DeleteMessageBatch ?? 0).toBeGreaterThan(before);
      sqsClient.destroy();
    },
    60_000,
  );

  it('does not try again what SQS refused as the sender’s fault (SenderFault true: a bad receipt handle)', async () => {
    const name = 'del-local-refused';
    await createQueues(sqs, [name]);
    const url = await resolveQueueUrl(sqs.client, name);
    const sqsClient = client();
    const deleter = new BatchDeleter(sqsClient, url);
    await send(sqs, name, 'm');
    const [handle = ''] = await receiveAll(url, 1);
    const before = network.counts().seen.DeleteMessageBatch ?? 0;
    network.failEntries(['DeleteMessageBatch'], 1, true);
    await expect(deleter.delete(handle)).rejects.toThrow(/SQS refused the delete: ReceiptHandleIsInvalid/);
    expect((network.counts().seen.DeleteMessageBatch ?? 0) - before).toBe(1);
    sqsClient.destroy();
  });

  it('sends the retries still waiting when flushed', async () => {
    const name = 'del-local-flushed';
    await createQueues(sqs, [name]);
    const url = await resolveQueueUrl(sqs.client, name);
    for (let index = 0; index < 12; index++) await send(sqs, name, `m${index}`);
    const handles = await receiveAll(url, 12);
    const sqsClient = client();
    const deleter = new BatchDeleter(sqsClient, url);
    network.failEntries(['DeleteMessageBatch'], 1);
    const results = Promise.allSettled(handles.map((handle) => deleter.delete(handle)));
    await waitFor('failed entries', async () =>
      (network.counts().entriesFailed.DeleteMessageBatch ?? 0) > 0 ? true : undefined,
    );
    network.failEntries([], 0);
    await deleter.flush();
    expect((await results).filter(({ status }) => status === 'rejected')).toEqual([]);
    expect(await depth(sqs, name)).toBe(0);
    sqsClient.destroy();
  });
});

/** Runs per task id, across the workers of the test below. */
const runs = new Map<string, number>();
const nap = defineTask({
  name: 'nap',
  args: z.tuple([z.number()]),
  run(_args, ctx) {
    runs.set(ctx.id, (runs.get(ctx.id) ?? 0) + 1);
  },
});

describe('a pool whose deletes SQS fails in part', () => {
  it('runs each task once: two workers (as two processes of a pool, each with its own memory), 25 % of delete entries failed', async () => {
    const naming = { env: 'local', user: 'halfdel' };
    // A message whose delete is lost comes back within the test, after the deleter's tries (7.5 s at most).
    await createQueues(sqs, [fullQueueName('naps', naming)], { visibilityTimeoutSeconds: 10 });
    const workers: Worker[] = [];
    for (let index = 0; index < 2; index++) {
      workers.push(
        await startWorker({
          sqs: { region: 'us-east-1', endpoint: network.endpoint },
          queues: [{ queue: 'naps', task: 'nap' }],
          tasks: [nap],
          naming,
          concurrency: 5,
          metrics: createMetrics(`halfdel${index}`, { defaultMetrics: false }),
          log: createLogger('halfdel', 'silent'),
          waitTimeSeconds: 1,
        }),
      );
    }
    network.failEntries(['DeleteMessageBatch'], 0.25);
    try {
      const ids = await sendTasks(
        sqs,
        'halfdel',
        Array.from({ length: 120 }, () => [0]),
      );
      await waitFor('every task to run', async () => (ids.every((id) => runs.has(id)) ? true : undefined), 60_000);
      await waitFor(
        'the queue to be empty',
        async () => ((await depth(sqs, fullQueueName('naps', naming))) === 0 ? true : undefined),
        60_000,
      );
      expect(network.counts().entriesFailed.DeleteMessageBatch ?? 0).toBeGreaterThan(10);
      const twice = ids.filter((id) => (runs.get(id) ?? 0) > 1);
      // Each delete has 5 tries at 25 %: one in a thousand is still lost.
      expect(twice.length).toBeLessThanOrEqual(1);
    } finally {
      network.failEntries([], 0);
      await Promise.all(workers.map((worker) => worker.stop(1)));
    }
  }, 120_000);
});
