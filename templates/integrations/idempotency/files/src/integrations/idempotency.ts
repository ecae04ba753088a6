// The store of idempotency keys, in Redis: one key per task key, namespaced by worker and APP_ENV
// (`be-worker:<worker>:<env>:idem:<key>`), holding either `claimed:<token>` (a run holds it, for
// one lease) or `done:<json>` (it completed, for the task's ttlSeconds, with its result). Claiming is
// one atomic SET NX; completing, releasing and extending compare the token in a Lua script, so a
// run whose claim expired never overwrites a newer claim. Without a Redis URL it is off, and ioredis
// is not even loaded.
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { whenConnected } from '../runtime/connecting.ts';
import {
  type Claim,
  type IdempotencyStore,
  type IntegrationContext,
  redactUrls,
  type WorkerHooks,
} from '../runtime/index.ts';

const redisUrl = z.url({
  protocol: /^rediss?$/,
  error: 'a redis:// or rediss:// URL, e.g. redis://localhost:6379',
});

export const idempotencyEnv = {
  /** Redis for idempotency keys; REDIS_URL (the ratelimit integration's) when unset. */
  IDEMPOTENCY_REDIS_URL: redisUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  /** A completed key keeps its result up to this many bytes of JSON; a larger one is not kept. */
  IDEMPOTENCY_MAX_RESULT_BYTES: z.coerce.number().int().min(0).max(1_048_576).default(16_384),
};

type IdempotencyConfig = z.output<z.ZodObject<typeof idempotencyEnv>> & { APP_ENV: string };

export async function idempotency(config: IdempotencyConfig, { name, log }: IntegrationContext): Promise<WorkerHooks> {
  const url = config.IDEMPOTENCY_REDIS_URL ?? config.REDIS_URL;
  // Without Redis there is no store: a task that asks for idempotency then stops start-up, naming this.
  if (!url) return {};
  const store = new RedisIdempotencyStore(await connect(url), {
    namespace: `be-worker:${name}:${config.APP_ENV}:idem:`,
    maxResultBytes: config.IDEMPOTENCY_MAX_RESULT_BYTES,
  });
  log.info({ redis: redactUrls(url) }, 'idempotency keys kept in Redis');
  return { idempotency: store, close: () => store.close() };
}

/** No offline queue and a command timeout: a Redis that is down or silent fails a call at once, never holds it. */
export async function connect(url: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 2000 });
  redis.on('error', () => {}); // each failed call is counted and logged by the worker
  return redis;
}

/** Longer keys are hashed: a Redis key stays small whatever `key(args, ctx)` returns. */
const LONGEST_KEY = 200;

const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'claimed'}
end
return {v, redis.call('PTTL', KEYS[1])}`;
const COMPLETE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;
const EXTEND = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

export interface RedisIdempotencyStoreOptions {
  /** Prefix of every key: `be-worker:<worker>:<env>:idem:`. */
  namespace: string;
  /** The largest result kept, in bytes of JSON. */
  maxResultBytes: number;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: Redis;
  readonly #options: RedisIdempotencyStoreOptions;

  constructor(redis: Redis, options: RedisIdempotencyStoreOptions) {
    this.#redis = redis;
    this.#options = options;
  }

  /** The Redis key of a task key. */
  redisKey(key: string): string {
    const short = key.length <= LONGEST_KEY ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
    return this.#options.namespace + short;
  }

  async claim(key: string, leaseSeconds: number): Promise<Claim> {
    await whenConnected(this.#redis, 2000);
    const token = randomUUID();
    const [value, pttl] = (await this.#redis.eval(CLAIM, 1, this.redisKey(key), claimed(token), ms(leaseSeconds))) as [
      string,
      number?,
    ];
    if (value === 'claimed') return { status: 'claimed', token };
    if (value.startsWith('done:')) {
      const done = JSON.parse(value.slice('done:'.length)) as { r?: unknown; notKept?: string };
      return done.notKept === undefined
        ? { status: 'done', result: done.r }
        : { status: 'done', result: undefined, notKept: done.notKept };
    }
    return { status: 'busy', retryAfterSeconds: Math.max(0, pttl ?? 0) / 1000 };
  }

  async complete(key: string, token: string, result: unknown, ttlSeconds: number): Promise<boolean> {
    const value = `done:${this.#encode(result)}`;
    return (await this.#redis.eval(COMPLETE, 1, this.redisKey(key), claimed(token), value, ms(ttlSeconds))) === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.#redis.eval(RELEASE, 1, this.redisKey(key), claimed(token))) === 1;
  }

  async extend(key: string, token: string, leaseSeconds: number): Promise<boolean> {
    return (await this.#redis.eval(EXTEND, 1, this.redisKey(key), claimed(token), ms(leaseSeconds))) === 1;
  }

  async close(): Promise<void> {
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  /** The result as JSON when it fits; else why it was not kept (a duplicate then has no result for its links). */
  #encode(result: unknown): string {
    let json: string;
    try {
      json = JSON.stringify({ r: result });
    } catch (error) {
      return JSON.stringify({ notKept: `its result is not JSON: ${(error as Error).message}` });
    }
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.#options.maxResultBytes + '{"r":}'.length) return json;
    return JSON.stringify({
      notKept: `its result, ${bytes} bytes of JSON, is larger than IDEMPOTENCY_MAX_RESULT_BYTES (${this.#options.maxResultBytes})`,
    });
  }
}

const claimed = (token: string) => `claimed:${token}`;
const ms = (seconds: number) => String(Math.max(1, Math.ceil(seconds * 1000)));
