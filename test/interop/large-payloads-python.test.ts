// Large payloads between Python and TypeScript: real Celery 5.2 (Debian, SQS's Query protocol, so
// local-aws-sqs for SQS) sending through the logic of AWS's Python SQS extended client
// (test/support/celery/extended.py, written after its source: the library is not installable here),
// moto for S3 (the Python client puts a body in one request, which fauxqs refuses past 11 MiB). Its pointer messages run on our worker, and ours are read back by the same logic.
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { provisionQueues } from '../../templates/worker/src/runtime/provision.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { generated, startTestWorker } from '../integrations/support.ts';
import { type CeleryPython, celeryPython } from '../support/celery.ts';
import { type MotoServer, startMoto } from '../support/moto.ts';
import { REPO, waitFor } from '../support/process.ts';
import { type SqsProcess, startSqsProcess } from '../support/sqs.ts';

type LargePayloadsModule = {
  largePayloadsEnv: z.ZodRawShape;
  largePayloads(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks>;
};

const MiB = 1024 * 1024;
const BUCKET = 'interop-payloads';
let sqs: SqsProcess;
let s3: MotoServer;
let python: CeleryPython;

beforeAll(async () => {
  python = await celeryPython('query');
  sqs = await startSqsProcess({ awsLike: true });
  s3 = await startMoto();
  // The bucket `be-worker provision` makes in AWS.
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
});

afterAll(async () => {
  await sqs?.stop();
  s3?.stop();
});

async function extended(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await execa(python.python, ['extended.py', ...args], {
    cwd: join(REPO, 'test', 'support', 'celery'),
    env: { SQS_ENDPOINT: sqs.endpoint, S3_ENDPOINT: s3.endpoint, BUCKET, PYTHONDONTWRITEBYTECODE: '1' },
    timeout: 600_000,
  });
  return JSON.parse(String(stdout).trim().split('\n').at(-1) ?? '{}');
}

async function startWorker(seen: Map<string, number>) {
  const module = await generated<LargePayloadsModule>('src/integrations/large-payloads.ts');
  const env = z
    .object(module.largePayloadsEnv)
    .parse({ LARGE_PAYLOAD_BUCKET: BUCKET, LARGE_PAYLOAD_S3_ENDPOINT: s3.endpoint });
  const config = { ...env, APP_ENV: 'local', AWS_REGION: 'us-east-1', SQS_ENDPOINT: sqs.endpoint };
  const measure = defineTask({
    name: 'lp.measure',
    args: z.tuple([z.string()]),
    run: ([text], ctx) => {
      seen.set(ctx.id, text.length);
      return text.length;
    },
  });
  const worker = await startTestWorker({
    endpoint: sqs.endpoint,
    name: 'lpy',
    queues: [{ queue: 'measure', task: 'lp.measure' }],
    tasks: [measure],
    integration: (context) => module.largePayloads(config, context),
    // Python's queue: nobody consumes it here, Python reads it.
    producer: { routes: { 'py.measure': 'py-outbox' } },
  });
  await provisionQueues(worker.sqs, ['lpy-local-py-outbox']);
  return worker;
}

describe('large payloads with Python (Celery 5.2 and the extended client logic)', () => {
  it.each([
    ['5 MiB', 5 * MiB],
    ['50 MB', 50_000_000],
  ])(
    'a %s argument goes Python → TypeScript and TypeScript → Python through S3',
    async (_label, size) => {
      const seen = new Map<string, number>();
      const worker = await startWorker(seen);
      try {
        const { id } = await extended('send', 'lpy-local-measure', 'lp.measure', String(size));
        await waitFor('the Python task to run here', async () => seen.get(String(id)), 600_000);
        expect(seen.get(String(id))).toBe(size);

        const sent = await worker.producer.send('py.measure', ['t'.repeat(size)]);
        const read = await extended('read', 'lpy-local-py-outbox');
        expect(read).toMatchObject({
          attribute: 'ExtendedPayloadSize',
          dataType: 'Number',
          pointerClass: 'software.amazon.payloadoffloading.PayloadS3Pointer',
          bucket: BUCKET,
          task: 'py.measure',
          argLength: size,
          originalHandle: true,
        });
        expect(read.size).toBe(read.bodyBytes);
        expect(sent.queue).toBe('lpy-local-py-outbox');
      } finally {
        await worker.stop();
      }
    },
    900_000,
  );
});
