// A thousand slots (WORKER_CONCURRENCY's most) on one queue: a hundred long polls at once. The
// worker once stalled here: the SQS client's 50 sockets were all held by long polls, so deletes and
// lease changes waited behind them until they timed out.
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const naming = { env: 'local', user: 'many-slots' };
const queue = fullQueueName('wide', naming);
const MESSAGES = 2000;
let sqs: SqsProcess;
let worker: Worker | undefined;
let ran = 0;

beforeAll(async () => {
  sqs = await startSqsProcess();
  await createQueues(sqs, [queue], { visibilityTimeoutSeconds: 300 });
  const url = await resolveQueueUrl(sqs.client, queue);
  for (let batch = 0; batch < MESSAGES; batch += 10) {
    await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, index) => ({
          Id: String(index),
          MessageBody: encodeMessage({ task: 'count', args: [batch + index], queue }),
        })),
      }),
    );
  }
});

afterAll(async () => {
  await worker?.stop(5);
  await sqs?.stop();
});

it('drains a queue at concurrency 1,000 with the default long poll', async () => {
  worker = await startWorker({
    sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
    queues: [{ queue: 'wide', task: 'count' }],
    tasks: [
      defineTask({
        name: 'count',
        args: z.tuple([z.number()]),
        run: () => {
          ran++;
        },
      }),
    ],
    naming,
    concurrency: 1000,
    metrics: createMetrics('many_slots', { defaultMetrics: false }),
    log: createLogger('many-slots', 'silent'),
  });
  await waitFor(
    'every message run and deleted',
    async () => ((await depth(sqs, queue)) === 0 ? true : undefined),
    30_000,
  );
  expect(ran).toBe(MESSAGES);
}, 60_000);
