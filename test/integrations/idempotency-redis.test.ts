// The idempotency integration with a real redis-server: the store's claim, complete, release and
// extend (tokens, expiry, bounded results, namespaced keys), and workers on fauxqs whose idempotent
// tasks run once per key — through duplicate sends, a key held elsewhere, a failure and its retry,
// and Redis going away in the middle of a run.

import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execa, type ResultPromise } from 'execa';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type {
  IdempotencyStore,
  IntegrationContext,
  QueueSettings,
  TaskDefinition,
  WorkerHooks,
} from '../../templates/worker/src/runtime/index.ts';
import { deadLetterQueueName, fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { sig } from '../../templates/worker/src/runtime/producer.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { freePort, waitFor } from '../support/process.ts';
import { requireTools } from '../support/tools.ts';
import { count, generated, runtime, startTestWorker } from './support.ts';

/** What these tests ask of an ioredis client (the generated worker's, which this repository does not depend on). */
interface Redis {
  get(key: string): Promise<string | null>;
  pttl(key: string): Promise<number>;
  exists(key: string): Promise<number>;
  keys(pattern: string): Promise<string[]>;
  disconnect(): void;
}

/** templates/integrations/idempotency/files/src/integrations/idempotency.ts, as generated. */
interface IdempotencyModule {
  idempotency(config: Record<string, unknown>, context: IntegrationContext): Promise<WorkerHooks>;
  connect(url: string): Promise<Redis>;
  RedisIdempotencyStore: new (
    redis: Redis,
    options: { namespace: string; maxResultBytes: number },
  ) => IdempotencyStore & { redisKey(key: string): string };
}

let module: IdempotencyModule;
let redisPort: number;
let redisServer: ResultPromise | undefined;
let redisUrl: string;
let direct: Redis;
let sqsServer: FauxqsServer;

async function startRedis(): Promise<void> {
  redisServer = execa('redis-server', ['--port', String(redisPort), '--save', '', '--appendonly', 'no'], {
    reject: false,
  });
  await waitFor('redis', async () =>
    (await execa('redis-cli', ['-p', String(redisPort), 'ping'], { reject: false })).stdout === 'PONG'
      ? true
      : undefined,
  );
}

async function stopRedis(): Promise<void> {
  redisServer?.kill('SIGKILL');
  await redisServer;
  redisServer = undefined;
}

beforeAll(async () => {
  await requireTools(['redis-server', 'redis-cli']);
  redisPort = await freePort();
  redisUrl = `redis://127.0.0.1:${redisPort}`;
  await startRedis();
  module = await generated<IdempotencyModule>('src/integrations/idempotency.ts');
  direct = await module.connect(redisUrl);
  await waitFor('a connection to redis', async () =>
    (await direct.exists('x').catch(() => undefined)) === 0 ? true : undefined,
  );
  sqsServer = await startFauxqs({ port: 0, logger: false });
}, 60_000);

afterAll(async () => {
  direct?.disconnect();
  await stopRedis();
  await sqsServer?.stop();
});

async function newStore(namespace = `t:${crypto.randomUUID()}:`, maxResultBytes = 16_384) {
  return new module.RedisIdempotencyStore(await module.connect(redisUrl), { namespace, maxResultBytes });
}

describe('the Redis idempotency store', () => {
  it('claims once: a second claim is busy, a completed key is done with its result; stale tokens change nothing', async () => {
    const store = await newStore();
    try {
      const first = await store.claim('k', 30);
      expect(first.status).toBe('claimed');
      const busy = await store.claim('k', 30);
      expect(busy.status).toBe('busy');
      expect(busy.status === 'busy' && busy.retryAfterSeconds).toBeGreaterThan(0);
      expect(busy.status === 'busy' && busy.retryAfterSeconds).toBeLessThanOrEqual(30);
      const token = first.status === 'claimed' ? first.token : '';
      // A token that is not the claim's (a stale run's) neither completes, releases nor extends it.
      expect(await store.complete('k', 'stale', 'stale result', 60)).toBe(false);
      expect(await store.release('k', 'stale')).toBe(false);
      expect(await store.extend?.('k', 'stale', 30)).toBe(false);
      expect((await store.claim('k', 30)).status).toBe('busy');
      expect(await store.extend?.('k', token, 30)).toBe(true);
      expect(await store.complete('k', token, { sum: 3 }, 60)).toBe(true);
      expect(await store.claim('k', 30)).toEqual({ status: 'done', result: { sum: 3 } });
      // Completed: the claim's token no longer releases it.
      expect(await store.release('k', token)).toBe(false);
      expect(await store.claim('k', 30)).toEqual({ status: 'done', result: { sum: 3 } });
    } finally {
      await store.close();
    }
  });

  it('releases a claim so the retry can claim it, and never lets a stale run complete over a newer claim', async () => {
    const store = await newStore();
    try {
      const first = await store.claim('r', 30);
      const firstToken = first.status === 'claimed' ? first.token : '';
      expect(await store.release('r', firstToken)).toBe(true);
      const second = await store.claim('r', 1);
      expect(second.status).toBe('claimed');
      // The second claim expires (its run paused past its lease) and a third run claims the key.
      await waitFor('the claim to expire', async () => ((await direct.exists(store.redisKey('r'))) ? undefined : true));
      const third = await store.claim('r', 30);
      expect(third.status).toBe('claimed');
      const secondToken = second.status === 'claimed' ? second.token : '';
      expect(await store.complete('r', secondToken, 'from the stale run', 60)).toBe(false);
      expect((await store.claim('r', 30)).status).toBe('busy');
      expect(await store.complete('r', third.status === 'claimed' ? third.token : '', 'from the live run', 60)).toBe(
        true,
      );
      expect(await store.claim('r', 30)).toEqual({ status: 'done', result: 'from the live run' });
    } finally {
      await store.close();
    }
  });

  it.each([
    [1, 1],
    [1.5, 7],
    [7, 3601],
    [43_200, 30 * 24 * 3600],
  ])('holds a claim for its lease of %s s and a completed key for its ttl of %s s', async (lease, ttl) => {
    const store = await newStore();
    try {
      const claim = await store.claim('t', lease);
      const pttl = await direct.pttl(store.redisKey('t'));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(Math.ceil(lease * 1000));
      await store.complete('t', claim.status === 'claimed' ? claim.token : '', 'v', ttl);
      const done = await direct.pttl(store.redisKey('t'));
      expect(done).toBeGreaterThan(Math.min(ttl * 1000 - 5000, ttl * 500));
      expect(done).toBeLessThanOrEqual(ttl * 1000);
      if (ttl === 1) {
        // The key expires with its ttl: the task may run again.
        await waitFor('the key to expire', async () => ((await direct.exists(store.redisKey('t'))) ? undefined : true));
        expect((await store.claim('t', lease)).status).toBe('claimed');
      }
    } finally {
      await store.close();
    }
  });

  it('keeps results up to IDEMPOTENCY_MAX_RESULT_BYTES; a larger one or one not JSON is not kept, the key completed all the same', async () => {
    for (const max of [0, 1, 100, 1_048_576]) {
      const store = await newStore(undefined, max);
      try {
        const fits = 'x'.repeat(Math.max(0, max - 2)); // its JSON is "x…x": max bytes
        const tooLarge = 'x'.repeat(max); // max + 2 bytes
        for (const [key, result] of [
          ['fits', fits],
          ['large', tooLarge],
          ['bigint', 10n],
          ['none', undefined],
        ] as const) {
          const claim = await store.claim(key, 30);
          expect(await store.complete(key, claim.status === 'claimed' ? claim.token : '', result, 60)).toBe(true);
        }
        if (max >= 2) expect(await store.claim('fits', 30)).toEqual({ status: 'done', result: fits });
        const large = await store.claim('large', 30);
        expect(large).toMatchObject({ status: 'done', result: undefined });
        expect(large.status === 'done' && large.notKept).toMatch(/larger than IDEMPOTENCY_MAX_RESULT_BYTES/);
        const bigint = await store.claim('bigint', 30);
        expect(bigint.status === 'done' && bigint.notKept).toMatch(/not JSON/);
        expect((await store.claim('none', 30)).status).toBe('done');
        // What Redis holds stays small whatever the result.
        expect(Buffer.byteLength((await direct.get(store.redisKey('large'))) ?? '')).toBeLessThan(200 + max);
      } finally {
        await store.close();
      }
    }
  });

  it('namespaces keys by worker and APP_ENV, and hashes long ones', async () => {
    const hooks = await module.idempotency(
      { REDIS_URL: redisUrl, APP_ENV: 'staging', IDEMPOTENCY_MAX_RESULT_BYTES: 100 },
      await context('orders'),
    );
    const store = hooks.idempotency as IdempotencyStore;
    try {
      await store.claim('order-7', 30);
      expect(await direct.exists('be-worker:orders:staging:idem:order-7')).toBe(1);
      const long = 'k'.repeat(5000);
      await store.claim(long, 30);
      const keys = await direct.keys('be-worker:orders:staging:idem:sha256:*');
      expect(keys).toHaveLength(1);
      expect(keys[0]?.length).toBeLessThan(120);
    } finally {
      await hooks.close?.();
    }
    // IDEMPOTENCY_REDIS_URL wins over REDIS_URL; without either there is no store.
    const own = await module.idempotency(
      {
        IDEMPOTENCY_REDIS_URL: redisUrl,
        REDIS_URL: 'redis://127.0.0.1:1',
        APP_ENV: 'local',
        IDEMPOTENCY_MAX_RESULT_BYTES: 1,
      },
      await context('own'),
    );
    expect((await own.idempotency?.claim('a', 5))?.status).toBe('claimed');
    await own.close?.();
    expect(
      await module.idempotency({ APP_ENV: 'local', IDEMPOTENCY_MAX_RESULT_BYTES: 1 }, await context('none')),
    ).toEqual({});
  });
});

async function context(name: string): Promise<IntegrationContext> {
  const rt = await runtime();
  return {
    name,
    prefix: name.replace(/-/g, '_'),
    log: rt.createLogger(name, 'silent'),
    metrics: rt.createMetrics(name.replace(/-/g, '_'), { defaultMetrics: false }),
  };
}

/** Every run of the tasks below, by key: what must happen once. */
const runs = new Map<string, number>();
const ran = (key: string) => runs.get(key) ?? 0;
/** What the `collect` task received: the links of `charge`. */
const collected: unknown[] = [];
/** Holds runs of `slow` until resolved. */
let gate: { promise: Promise<void>; open(): void } = opened();

function opened() {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const charge = defineTask({
  name: 'charge',
  args: z.tuple([z.string()]),
  idempotency: { ttlSeconds: 600 },
  run([order]) {
    runs.set(order, ran(order) + 1);
    // The result tells which run made it: a duplicate's links must get the first run's.
    return `${order} charged by run ${ran(order)}`;
  },
});
const collect = defineTask({
  name: 'collect',
  args: z.tuple([z.unknown()]),
  run([value]) {
    collected.push(value);
  },
});
/** Keyed by its argument (not its task id): two sends of one order are one run. */
const slow = defineTask({
  name: 'slow',
  args: z.tuple([z.string(), z.number()]),
  idempotency: { key: ([order]) => `slow:${order}`, ttlSeconds: 4.5 },
  async run([order]) {
    runs.set(order, ran(order) + 1);
    await gate.promise;
    return order;
  },
});
/** Fails its first run, then succeeds: the failure releases the key so the retry runs. */
const flaky = defineTask({
  name: 'flaky',
  args: z.tuple([z.string()]),
  idempotency: { ttlSeconds: 3 },
  retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run([order]) {
    runs.set(order, ran(order) + 1);
    if (ran(order) === 1) throw new Error('first run fails');
    return 'ok';
  },
});

async function startIdempotentWorker(
  name: string,
  tasks: TaskDefinition[],
  queueSettings: Partial<QueueSettings> = {},
  maxResultBytes = 16_384,
) {
  return startTestWorker({
    endpoint: sqsServer.address,
    name,
    queues: tasks.map((task) => ({ queue: `${name}-${task.name}`, task: task.name })),
    tasks,
    queueSettings,
    integration: (ctx) =>
      module.idempotency({ REDIS_URL: redisUrl, APP_ENV: 'local', IDEMPOTENCY_MAX_RESULT_BYTES: maxResultBytes }, ctx),
  });
}

/** Messages in the dead-letter queue of `queue` (SQS's own redrive included). */
async function dlqDepth(queue: string, user: string): Promise<number> {
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: sqsServer.address,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    const url = await resolveQueueUrl(sqs, deadLetterQueueName(fullQueueName(queue, { env: 'local', user })));
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
  } finally {
    sqs.destroy();
  }
}

describe('workers with idempotent tasks', () => {
  it('runs a task sent three times with one task id once; each duplicate sends its links the stored result', async () => {
    // Copies received together find the key busy and wait one claim's lease: a short one here.
    const worker = await startIdempotentWorker('dup', [charge, collect], { visibilityTimeoutSeconds: 3 });
    try {
      const id = crypto.randomUUID();
      for (let copy = 0; copy < 3; copy++) await worker.producer.send(charge, ['order-1'], { id, link: sig(collect) });
      await waitFor('three links', async () => (collected.length === 3 ? true : undefined), 30_000);
      expect(ran('order-1')).toBe(1);
      expect(collected).toEqual(Array(3).fill('order-1 charged by run 1'));
      expect(await count(worker.metrics, { name: 'charge', state: 'duplicate' })).toBe(2);
      expect(await count(worker.metrics, { name: 'charge', state: 'succeeded' })).toBe(1);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it.each([
    { visibilityTimeoutSeconds: 2, maxReceiveCount: 2 },
    { visibilityTimeoutSeconds: 3, maxReceiveCount: 20 },
  ])(
    'puts off a copy whose key a run in progress holds, never running or dead-lettering it (visibility $visibilityTimeoutSeconds s, maxReceiveCount $maxReceiveCount), then drops it once that run completed',
    async (settings) => {
      gate = opened();
      const name = `busy${settings.maxReceiveCount}`;
      const order = `order-2-${settings.maxReceiveCount}`;
      const worker = await startIdempotentWorker(name, [slow], settings);
      try {
        await worker.producer.send(slow, [order, 1]);
        await waitFor('the first run', async () => (ran(order) === 1 ? true : undefined));
        await worker.producer.send(slow, [order, 2]);
        const busy = async () =>
          (await worker.metrics.idempotencyBusy.get()).values.reduce((sum, { value }) => sum + value, 0);
        // Its claim is extended while it runs: the copy finds the key busy again and again — past
        // maxReceiveCount receives, so near it a delayed copy must take its place.
        await waitFor(
          'the copy to find the key busy three times',
          async () => ((await busy()) >= 3 ? true : undefined),
          60_000,
        );
        expect(ran(order)).toBe(1);
        gate.open();
        await waitFor(
          'the copy dropped as a duplicate',
          async () => ((await count(worker.metrics, { name: 'slow', state: 'duplicate' })) === 1 ? true : undefined),
          30_000,
        );
        expect(ran(order)).toBe(1);
        expect(await count(worker.metrics, { name: 'slow', state: 'dead_lettered' })).toBe(0);
        expect(await dlqDepth(`${name}-slow`, name)).toBe(0);
        // The key completed with a ttl of 4.5 s: once it expired, the order may run again.
        await waitFor('the key to expire', async () =>
          (await direct.keys(`be-worker:${name}:local:idem:slow:*`)).length === 0 ? true : undefined,
        );
        await worker.producer.send(slow, [order, 3]);
        await waitFor('a run after the ttl', async () => (ran(order) === 2 ? true : undefined), 30_000);
      } finally {
        gate.open();
        await worker.stop();
      }
    },
    120_000,
  );

  it('drops a duplicate whose result was too large to keep, unless its links need it: then it is dead-lettered with ResultNotKeptError, not run', async () => {
    const worker = await startIdempotentWorker('big', [charge, collect], { visibilityTimeoutSeconds: 3 }, 17);
    try {
      const withoutLinks = crypto.randomUUID();
      const withLinks = crypto.randomUUID();
      // "order-6 charged by run 1" is 26 bytes of JSON: over the 17 kept.
      for (let copy = 0; copy < 2; copy++) await worker.producer.send(charge, ['order-6'], { id: withoutLinks });
      await waitFor('the duplicate dropped', async () =>
        (await count(worker.metrics, { name: 'charge', state: 'duplicate' })) === 1 ? true : undefined,
      );
      expect(ran('order-6')).toBe(1);
      const before = collected.length;
      await worker.producer.send(charge, ['order-7'], { id: withLinks, link: sig(collect) });
      await waitFor('its link', async () => (collected.length === before + 1 ? true : undefined));
      await worker.producer.send(charge, ['order-7'], { id: withLinks, link: sig(collect) });
      await waitFor('the duplicate dead-lettered', async () =>
        (await count(worker.metrics, { name: 'charge', state: 'dead_lettered' })) === 1 ? true : undefined,
      );
      expect(ran('order-7')).toBe(1);
      expect(collected.length).toBe(before + 1);
      const { values } = await worker.metrics.deadLetters.get();
      expect(values.find(({ labels }) => labels.reason === 'result_not_kept')?.value).toBe(1);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('releases the key when a run fails, so its retry runs', async () => {
    const worker = await startIdempotentWorker('retry', [flaky]);
    try {
      await worker.producer.send(flaky, ['order-3']);
      await waitFor(
        'the retry to succeed',
        async () => ((await count(worker.metrics, { name: 'flaky', state: 'succeeded' })) === 1 ? true : undefined),
        30_000,
      );
      expect(ran('order-3')).toBe(2);
      expect(await count(worker.metrics, { name: 'flaky', state: 'retried' })).toBe(1);
      expect(await count(worker.metrics, { name: 'flaky', state: 'duplicate' })).toBe(0);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('with Redis gone, runs nothing unguarded: the message waits, counted, and runs once Redis is back; a run it cut off completes its message', async () => {
    gate = opened();
    const worker = await startIdempotentWorker('down', [slow]);
    const unavailable = async (step: string) =>
      (await worker.metrics.idempotencyUnavailable.get()).values
        .filter(({ labels }) => labels.step === step)
        .reduce((sum, { value }) => sum + value, 0);
    try {
      await worker.producer.send(slow, ['order-4', 1]);
      await waitFor('the run', async () => (ran('order-4') === 1 ? true : undefined));
      // Redis stops in the middle of the run: its key cannot be marked completed.
      await stopRedis();
      gate.open();
      await waitFor('the failed complete', async () => ((await unavailable('complete')) === 1 ? true : undefined));
      await waitFor('the message deleted all the same', async () =>
        (await count(worker.metrics, { name: 'slow', state: 'succeeded' })) === 1 ? true : undefined,
      );
      // A new task while Redis is down is not run: it waits, hidden, and is counted.
      await worker.producer.send(slow, ['order-5', 1]);
      await waitFor('two refused claims', async () => ((await unavailable('claim')) >= 2 ? true : undefined), 30_000);
      expect(ran('order-5')).toBe(0);
      await startRedis();
      await waitFor('the run once Redis is back', async () => (ran('order-5') === 1 ? true : undefined), 30_000);
      await waitFor('its key completed', async () =>
        (await direct.get('be-worker:down:local:idem:slow:order-5').catch(() => null))?.startsWith('done:')
          ? true
          : undefined,
      );
      expect(ran('order-5')).toBe(1);
      expect(ran('order-4')).toBe(1);
    } finally {
      await worker.stop();
      if (!redisServer) await startRedis();
    }
  }, 120_000);

  it('refuses to start a task that asks for idempotency without a store, naming the fix', async () => {
    const started = startTestWorker({
      endpoint: sqsServer.address,
      name: 'nostore',
      queues: [{ queue: 'nostore-charge', task: 'charge' }],
      tasks: [charge],
      // The integration without IDEMPOTENCY_REDIS_URL or REDIS_URL: no store.
      integration: (ctx) => module.idempotency({ APP_ENV: 'local', IDEMPOTENCY_MAX_RESULT_BYTES: 1 }, ctx),
    });
    await expect(started).rejects.toThrow(
      /task "charge" asks for idempotency, but this worker has no idempotency store.*--with idempotency.*IDEMPOTENCY_REDIS_URL/,
    );
    await expect(
      startTestWorker({
        endpoint: sqsServer.address,
        name: 'nohooks',
        queues: [{ queue: 'nohooks-charge', task: 'charge' }],
        tasks: [charge],
        integration: () => ({}),
      }),
    ).rejects.toMatchObject({ name: 'ConfigError' });
  });
});
