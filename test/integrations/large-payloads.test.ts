// The large-payloads integration as generated, end to end on fauxqs (SQS and S3 on one endpoint): a
// worker in this process, its producer, and the objects in the bucket after each outcome.

import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { execa } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { redriveDeadLetters } from '../../src/dlq/index.ts';
import { workerQueues } from '../../src/worker-queues.ts';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { pointerMessage, readPointer, SIZE_ATTRIBUTE } from '../../templates/worker/src/runtime/payload-pointer.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startFaultyNetwork } from '../support/faulty-network.ts';
import { REPO, waitFor } from '../support/process.ts';
import { generated, startTestWorker } from './support.ts';

/** templates/integrations/large-payloads/files/src/integrations/large-payloads.ts, as generated. */
type LargePayloadsModule = {
  largePayloadsEnv: z.ZodRawShape;
  largePayloads(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks>;
};

type Runtime = typeof import('../../templates/worker/src/runtime/index.ts');

const MiB = 1024 * 1024;
let server: FauxqsServer;
let s3: S3Client;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  s3 = new S3Client({
    region: 'us-east-1',
    endpoint: server.address,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});

async function keys(bucket: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => ({ Contents: [] }));
  return (listed.Contents ?? []).map(({ Key }) => Key ?? '');
}

/** The env of the integration, parsed as the worker's config.ts does. */
async function integration(env: Record<string, string>) {
  const module = await generated<LargePayloadsModule>('src/integrations/large-payloads.ts');
  const config = z
    .object(module.largePayloadsEnv)
    .parse({ LARGE_PAYLOAD_S3_ENDPOINT: server.address, ...env }) as Record<string, unknown>;
  const full = { ...config, APP_ENV: 'local', AWS_REGION: 'us-east-1', SQS_ENDPOINT: server.address };
  return (context: IntegrationContext) => module.largePayloads(full, context);
}

async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
  );
  return Messages;
}

describe('large-payloads on fauxqs (SQS and S3)', () => {
  it('runs a 5 MiB task through S3, deletes its object once done, keeps it with a dead letter, and runs it after a redrive', async () => {
    const bucket = 'lp-run';
    const seen: number[] = [];
    // The worker runs the generated runtime: its NonRetryableError is the one it knows.
    const { NonRetryableError } = await generated<Runtime>('src/runtime/index.ts');
    const measure = defineTask({
      name: 'lp.measure',
      args: z.tuple([z.string()]),
      run: ([text]) => {
        seen.push(text.length);
        if (text.startsWith('fail') && !fixed) throw new NonRetryableError('refused');
        return text.length;
      },
    });
    let fixed = false;
    const worker = await startTestWorker({
      endpoint: server.address,
      name: 'lp',
      queues: [{ queue: 'measure', task: 'lp.measure' }],
      tasks: [measure],
      integration: await integration({ LARGE_PAYLOAD_BUCKET: bucket, LARGE_PAYLOAD_PREFIX: 'tasks/' }),
    });
    try {
      const payloads = worker.hooks.payloads;
      expect(payloads).toBeDefined();
      const big = 'x'.repeat(5 * MiB);
      // The test worker's producer has the worker's store, as src/producer.ts does.
      const { producer } = worker;
      await producer.send(measure, [big]);
      await waitFor('the 5 MiB task to run', async () => (seen.includes(big.length) ? true : undefined), 120_000);
      await waitFor('its object to be deleted', async () => ((await keys(bucket)).length === 0 ? true : undefined));

      // Past 8 MiB encoded, the body goes up in parts (the emulator takes no request over 11 MiB).
      const huge = 'h'.repeat(12 * MiB);
      await producer.send(measure, [huge]);
      await waitFor('the 12 MiB task to run', async () => (seen.includes(huge.length) ? true : undefined), 180_000);
      await waitFor('its object to be deleted', async () => ((await keys(bucket)).length === 0 ? true : undefined));

      await producer.send(measure, [`fail${big}`]);
      const dlq = await resolveQueueUrl(worker.sqs, 'err-lp-local-measure');
      const [dead] = await waitFor('the dead letter', async () => {
        const messages = await receiveAll(worker.sqs, dlq);
        return messages.length > 0 ? messages : undefined;
      });
      const pointer = readPointer(dead as Message);
      expect(pointer?.bucket).toBe(bucket);
      expect(pointer?.key).toMatch(/^tasks\/[0-9a-f-]{36}$/);
      expect(dead?.MessageAttributes?.[SIZE_ATTRIBUTE]?.DataType).toBe('Number');
      expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('NonRetryableError');
      expect(await keys(bucket)).toEqual([pointer?.key]);

      // The fix is out: `dlq redrive` (its library code) moves the pointer back with its attribute,
      // the task runs from its object, and the object goes once it is done.
      fixed = true;
      const runsOf = () => seen.filter((length) => length === big.length + 4).length;
      const runsBefore = runsOf();
      expect(runsBefore).toBe(1); // NonRetryableError: dead-lettered at once
      await worker.sqs.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: dlq, ReceiptHandle: dead?.ReceiptHandle, VisibilityTimeout: 0 }),
      );
      const queues = workerQueues([{ queue: 'measure', task: 'lp.measure' }], { env: 'local', user: 'lp' });
      const moved = await redriveDeadLetters({
        env: 'local',
        region: 'us-east-1',
        endpoint: server.address,
        queues,
        queue: 'measure',
      });
      expect(moved.moved).toBe(1);
      await waitFor('the redriven task to run', async () => (runsOf() === runsBefore + 1 ? true : undefined), 120_000);
      await waitFor('its object to be deleted once done', async () =>
        (await keys(bucket)).length === 0 ? true : undefined,
      );
    } finally {
      await worker.stop();
    }
  }, 300_000);

  it('dead-letters a pointer whose object is missing, with its reason, and runs the next message', async () => {
    const bucket = 'lp-missing';
    const ran: string[] = [];
    const echo = defineTask({ name: 'lp.echo', args: z.tuple([z.string()]), run: ([text]) => void ran.push(text) });
    const worker = await startTestWorker({
      endpoint: server.address,
      name: 'lpm',
      queues: [{ queue: 'echo', task: 'lp.echo' }],
      tasks: [echo],
      // `always`: even a small body goes to S3.
      integration: await integration({ LARGE_PAYLOAD_BUCKET: bucket, LARGE_PAYLOAD_THRESHOLD: 'always' }),
    });
    try {
      const url = await resolveQueueUrl(worker.sqs, 'lpm-local-echo');
      const missing = pointerMessage({ bucket, key: 'gone/0f8fad5b-d9cb-469f-a165-70867728950e', size: 10 });
      await worker.sqs.send(
        new SendMessageCommand({ QueueUrl: url, MessageBody: missing.body, MessageAttributes: missing.attributes }),
      );
      const { producer } = worker;
      await producer.send(echo, ['small']);
      await waitFor('the small task through S3 to run', async () => (ran.includes('small') ? true : undefined), 60_000);
      const dlq = await resolveQueueUrl(worker.sqs, 'err-lpm-local-echo');
      const [dead] = await waitFor('the dead letter', async () => {
        const messages = await receiveAll(worker.sqs, dlq);
        return messages.length > 0 ? messages : undefined;
      });
      expect(dead?.Body).toBe(missing.body);
      expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('PayloadUnavailableError');
      expect(dead?.MessageAttributes?.error_message?.StringValue).toContain('gone/0f8fad5b');
      expect(dead?.MessageAttributes?.[SIZE_ATTRIBUTE]?.StringValue).toBe('10');
      const { values } = await worker.metrics.deadLetters.get();
      expect(values.find((value) => value.labels.reason === 'payload_unavailable')?.value).toBe(1);
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it('retries a large task as a new object, keeps the first as the original, and deletes both once done', async () => {
    const bucket = 'lp-retry';
    let runs = 0;
    const flaky = defineTask({
      name: 'lp.flaky',
      args: z.tuple([z.string()]),
      retry: { maxRetries: 3, backoff: 'fixed', baseSeconds: 1, maxSeconds: 1, jitter: false },
      run: () => {
        runs++;
        if (runs < 3) throw new Error(`failure ${runs}`);
        return 'ok';
      },
    });
    const worker = await startTestWorker({
      endpoint: server.address,
      name: 'lpr',
      queues: [{ queue: 'flaky', task: 'lp.flaky' }],
      tasks: [flaky],
      // An odd threshold: 3000 bytes, well under the queue's limit.
      integration: await integration({ LARGE_PAYLOAD_BUCKET: bucket, LARGE_PAYLOAD_THRESHOLD: '3000' }),
    });
    try {
      const { producer } = worker;
      await producer.send(flaky, ['y'.repeat(4000)]);
      await waitFor('the third run', async () => (runs >= 3 ? true : undefined), 120_000);
      await waitFor('every object to be deleted', async () => ((await keys(bucket)).length === 0 ? true : undefined));
      expect(runs).toBe(3);
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it('reads a pointer under the legacy attribute, as version 1 of the Java client and use_legacy_attribute write it', async () => {
    const bucket = 'lp-legacy';
    const ran: number[] = [];
    const measure = defineTask({ name: 'lp.len', args: z.tuple([z.string()]), run: ([t]) => void ran.push(t.length) });
    const worker = await startTestWorker({
      endpoint: server.address,
      name: 'lpl',
      queues: [{ queue: 'len', task: 'lp.len' }],
      tasks: [measure],
      integration: await integration({ LARGE_PAYLOAD_BUCKET: bucket, LARGE_PAYLOAD_KEEP: 'true' }),
    });
    try {
      const body = encodeMessage({
        task: 'lp.len',
        args: ['z'.repeat(2 * MiB)],
        queue: 'lpl-local-len',
        maxBytes: 8 * MiB,
      });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'legacy-key', Body: body }));
      const url = await resolveQueueUrl(worker.sqs, 'lpl-local-len');
      await worker.sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: `["com.amazon.sqs.javamessaging.MessageS3Pointer", {"s3BucketName": "${bucket}", "s3Key": "legacy-key"}]`,
          MessageAttributes: { SQSLargePayloadSize: { DataType: 'Number', StringValue: String(body.length) } },
        }),
      );
      await waitFor('the legacy pointer task to run', async () => (ran.length > 0 ? true : undefined), 60_000);
      expect(ran).toEqual([2 * MiB]);
      // LARGE_PAYLOAD_KEEP=true: the object stays.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await keys(bucket)).toContain('legacy-key');
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'legacy-key' }));
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it('leaves an orphan object and no task when the producer is killed between the S3 write and the send', async () => {
    const bucket = 'lp-killed';
    const ran: number[] = [];
    const measure = defineTask({ name: 'lp.kill', args: z.tuple([z.string()]), run: ([t]) => void ran.push(t.length) });
    const worker = await startTestWorker({
      endpoint: server.address,
      name: 'lpk',
      queues: [{ queue: 'kill', task: 'lp.kill' }],
      tasks: [measure],
      integration: await integration({ LARGE_PAYLOAD_BUCKET: bucket }),
    });
    // The producer's SQS goes through a proxy that holds its SendMessage: frozen right after the S3 write.
    const proxy = await startFaultyNetwork(server.address);
    try {
      proxy.hold(['SendMessage']);
      const producer = execa(
        'node',
        [join(REPO, 'test', 'support', 'large-payload-producer.ts'), 'lpk', 'kill', 'lp.kill', String(2 * MiB)],
        {
          env: {
            LARGE_PAYLOADS_MODULE: join(inject('allOnWorker'), 'src/integrations/large-payloads.ts'),
            SQS_ENDPOINT: proxy.endpoint,
            LARGE_PAYLOAD_S3_ENDPOINT: server.address,
            LARGE_PAYLOAD_BUCKET: bucket,
          },
          reject: false,
        },
      );
      await waitFor(
        'the producer to reach SendMessage',
        async () => (proxy.counts().held > 0 ? true : undefined),
        60_000,
      );
      producer.kill('SIGKILL');
      await producer;
      const orphans = await keys(bucket);
      expect(orphans).toHaveLength(1);
      // A task sent after it runs; the killed one never does, and its object stays for the lifecycle rule.
      await worker.producer.send(measure, ['after']);
      await waitFor('the task sent after to run', async () => (ran.includes(5) ? true : undefined), 60_000);
      expect(ran).toEqual([5]);
      expect(await keys(bucket)).toEqual(orphans);
    } finally {
      await proxy.close();
      await worker.stop();
    }
  }, 180_000);
});
