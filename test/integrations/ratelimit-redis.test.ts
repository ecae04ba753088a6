// The ratelimit integration's Redis backend with a real redis-server: two worker processes share
// one limit, and both keep working, at the local limit, when Redis goes away.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { freePort, REPO, sample, tempDir, waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { requireTools } from '../support/tools.ts';

const PER_SECOND = 5;
const QUEUE = 'rl-local-naps';
let sqs: SqsProcess;
let redis: ResultPromise;
let redisUrl: string;
const workers: { process: ResultPromise; port: number }[] = [];

beforeAll(async () => {
  await requireTools(['redis-server', 'redis-cli']);
  const port = await freePort();
  redis = execa('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { reject: false });
  redisUrl = `redis://127.0.0.1:${port}`;
  await waitFor('redis', async () =>
    (await execa('redis-cli', ['-p', String(port), 'ping'], { reject: false })).stdout === 'PONG' ? true : undefined,
  );
  sqs = await startSqsProcess();
  await createQueues(sqs, [QUEUE]);
});

afterAll(async () => {
  for (const { process } of workers) process.kill('SIGKILL');
  redis?.kill('SIGKILL');
  await sqs?.stop();
});

async function send(count: number): Promise<void> {
  const url = await resolveQueueUrl(sqs.client, QUEUE);
  for (let start = 0; start < count; start += 10) {
    const entries = Array.from({ length: Math.min(10, count - start) }, (_, index) => ({
      Id: String(index),
      MessageBody: encodeMessage({ task: 'nap', args: [0], queue: QUEUE }),
    }));
    await sqs.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
}

describe('ratelimit over Redis', () => {
  it('holds two processes to one limit, and keeps both going at the local limit without Redis', async () => {
    const log = join(await tempDir(), 'ran.log');
    for (let index = 0; index < 2; index++) {
      const port = await freePort();
      const process = execa('node', [join(REPO, 'test', 'support', 'worker-process.ts')], {
        env: {
          BE_WORKER_USER: 'rl',
          SQS_ENDPOINT: sqs.endpoint,
          HTTP_PORT: String(port),
          RUN_LOG: log,
          WORKER_CONCURRENCY: '10',
          RATELIMIT_MODULE: join(inject('allOnWorker'), 'src', 'integrations', 'ratelimit.ts'),
          RATELIMIT_BACKEND: 'redis',
          REDIS_URL: redisUrl,
          RATELIMIT_LIMITS: `naps=${PER_SECOND}`,
        },
        reject: false,
        all: true,
      });
      workers.push({ process, port });
      await waitFor('a worker', async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined));
    }
    const ran = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

    // 50 tasks at 5 a second for both processes together: in T seconds at most 5 × (T + 2) run
    // (grants made in the two windows before the first message count there). A limit per process
    // (10 a second together) would take half the time, no limit a fraction of a second.
    const started = performance.now();
    await send(50);
    await waitFor('50 tasks', async () => ((await ran()) === 50 ? true : undefined), 60_000);
    const seconds = (performance.now() - started) / 1000;
    expect(50).toBeLessThanOrEqual(PER_SECOND * (Math.ceil(seconds) + 2));

    redis.kill('SIGKILL');
    await redis;
    await send(10);
    await waitFor('10 more tasks without Redis', async () => ((await ran()) === 60 ? true : undefined), 60_000);
    const fallbacks = await Promise.all(
      workers.map(async ({ port }) =>
        sample(
          await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
          'test_worker_ratelimit_fallback_total{ratelimit="naps"}',
        ),
      ),
    );
    expect(
      fallbacks.some((value) => (value ?? 0) >= 1),
      JSON.stringify(fallbacks),
    ).toBe(true);
  }, 120_000);
});
