// Celery's result backend on Redis: each task's outcome is stored as Celery's Redis backend stores
// it (runtime/result-backend.ts has the format), so a Python caller's `AsyncResult(id).get()` reads
// a TypeScript task's value or raises its failure, and this worker's producer's `get()` reads a
// Python task's. RESULT_BACKEND_URL is the Redis of the Celery apps' `result_backend`.
//
// A store that fails is tried 3 times (0.25 s, then 1 s apart), then logged and counted
// (<prefix>_results_store_failures_total) and given up: the message is still deleted, and the task
// is never run again only to store its result. Its caller's get() then times out.
//
// ioredis is loaded with the first connection, made by the first store or get(): never while
// RESULT_BACKEND_URL is unset.
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { z } from 'zod';
import type {
  CeleryMessage,
  IntegrationContext,
  Outcome,
  ResultBackend,
  TaskMeta,
  WorkerHooks,
} from '../runtime/index.ts';
import {
  type ChordReady,
  decodeResult,
  encodeResult,
  READY_STATES,
  ResultTimeoutError,
  resultKey,
} from '../runtime/result-backend.ts';
import { sleep, timerMs } from '../runtime/timing.ts';
import { type ChordCounter, redisChordCounter } from './results-chord.ts';

export const resultsEnv = {
  /** Celery's result_backend: redis://host:6379/0 or rediss://… (the db is the path). Unset: no results are stored. */
  RESULT_BACKEND_URL: z
    .url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL with its db, e.g. redis://redis:6379/0' })
    .optional(),
  /** Celery's result_expires: how long a result is kept, in seconds; 0 keeps it until deleted. */
  RESULT_EXPIRES_SECONDS: z.coerce.number().int().min(0).default(86_400),
  /** The largest result stored, in bytes of JSON; a larger one is stored as a ResultNotStorableError failure. */
  RESULT_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024),
};

type ResultsConfig = z.output<z.ZodObject<typeof resultsEnv>>;

/** The pauses between the tries of one store. */
const STORE_RETRY_MS = [250, 1000];
/** A Redis that takes longer to answer a command counts as down. */
const COMMAND_TIMEOUT_MS = 5000;

/**
 * Stores only if the task has no SUCCESS stored yet, as Celery does (a duplicate run's failure does
 * not overwrite a success), then PUBLISHes the meta on its key for the callers waiting on it.
 */
const STORE_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok and type(meta) == 'table' and meta.status == 'SUCCESS' then return 0 end
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SETEX', KEYS[1], ARGV[2], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

export async function results(
  config: ResultsConfig,
  { log, metrics, prefix }: IntegrationContext,
): Promise<WorkerHooks> {
  if (!config.RESULT_BACKEND_URL) {
    log.warn('RESULT_BACKEND_URL is not set: task results are not stored (set it to the Redis of result_backend)');
    return {};
  }
  const failures = new Counter({
    name: `${prefix}_results_store_failures_total`,
    help: 'Task results that could not be stored in the result backend, after every try',
    labelNames: ['name'],
    registers: [metrics.registry],
  });
  const backend = new RedisResultBackend(config, {
    onStoreFailed(request, error) {
      failures.inc({ name: request.task });
      log.error({ err: error, task: request.task, id: request.id }, 'could not store the task result; it is lost');
    },
  });
  return { results: backend, close: () => backend.close() };
}

/** The result backend for a producer (src/producer.ts): connects on the first get(), and lets go when none waits. */
export function resultBackend(config: ResultsConfig): ResultBackend | undefined {
  return config.RESULT_BACKEND_URL ? new RedisResultBackend(config, { closeWhenIdle: true }) : undefined;
}

export interface RedisResultBackendOptions {
  /** After every try failed; the store then resolves (the message goes on to be deleted). */
  onStoreFailed?(request: CeleryMessage, error: Error): void;
  /** Disconnect whenever no waitFor is pending, so a script that only sends and gets can exit. */
  closeWhenIdle?: boolean;
}

type Waiter = (meta: TaskMeta) => void;

export class RedisResultBackend implements ResultBackend {
  readonly #config: ResultsConfig;
  readonly #options: RedisResultBackendOptions;
  #client: Promise<Redis> | undefined;
  #subscriber: Promise<Redis> | undefined;
  /** Who waits for which key, on the one subscriber connection. */
  readonly #waiters = new Map<string, Set<Waiter>>();

  constructor(config: ResultsConfig, options: RedisResultBackendOptions = {}) {
    this.#config = config;
    this.#options = options;
  }

  async store(request: CeleryMessage, outcome: Outcome): Promise<void> {
    // Celery's request-level ignore_result skips a success only: failures are stored all the same
    // (backends/base.py mark_as_done / mark_as_failure).
    if (request.headers.ignore_result && outcome.state === 'SUCCESS') return;
    const json = encodeResult(request, outcome, { maxBytes: this.#config.RESULT_MAX_BYTES });
    let lastError: Error | undefined;
    for (let attempt = 0; attempt <= STORE_RETRY_MS.length; attempt++) {
      if (attempt > 0) await sleep(STORE_RETRY_MS[attempt - 1] ?? 0);
      try {
        const redis = await this.#redis();
        await redis.eval(STORE_SCRIPT, 1, resultKey(request.id), json, this.#config.RESULT_EXPIRES_SECONDS);
        return;
      } catch (error) {
        lastError = error as Error;
      }
    }
    if (this.#options.onStoreFailed) this.#options.onStoreFailed(request, lastError as Error);
    else throw lastError;
  }

  async meta(taskId: string): Promise<TaskMeta | undefined> {
    try {
      return decodeResult(await (await this.#redis()).get(resultKey(taskId)));
    } finally {
      this.#idle();
    }
  }

  /** Subscribes first, then reads what is stored: a result stored in between is seen either way. */
  async waitFor(taskId: string, { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }): Promise<TaskMeta> {
    const key = resultKey(taskId);
    let waiter: Waiter | undefined;
    const subscriber = await this.#subscribed();
    try {
      const published = new Promise<TaskMeta>((resolve) => {
        waiter = (meta) => {
          if (READY_STATES.has(meta.status)) resolve(meta);
        };
        const waiting = this.#waiters.get(key) ?? new Set();
        waiting.add(waiter);
        this.#waiters.set(key, waiting);
      });
      await subscriber.subscribe(key);
      const stored = decodeResult(await (await this.#redis()).get(key));
      if (stored && READY_STATES.has(stored.status)) return stored;
      const stop = AbortSignal.any([AbortSignal.timeout(timerMs(timeoutMs)), ...(signal ? [signal] : [])]);
      const stopped = new Promise<never>((_, reject) => {
        const fail = () =>
          reject(
            signal?.aborted
              ? signal.reason
              : new ResultTimeoutError(`no result for task ${taskId} within ${timeoutMs} ms`),
          );
        if (stop.aborted) fail();
        stop.addEventListener('abort', fail, { once: true });
      });
      return await Promise.race([published, stopped]);
    } finally {
      const waiting = this.#waiters.get(key);
      if (waiter) waiting?.delete(waiter);
      if (waiting?.size === 0) {
        this.#waiters.delete(key);
        await subscriber.unsubscribe(key).catch(() => {});
      }
      this.#idle();
    }
  }

  /** A chord header task's outcome, on the chord's counter (results-chord.ts). */
  async chordPartReturn(request: CeleryMessage, outcome: Outcome): Promise<ChordReady | undefined> {
    return (await this.#chords()).chordPartReturn(request, outcome);
  }

  async chordDone(request: CeleryMessage): Promise<void> {
    return (await this.#chords()).chordDone(request);
  }

  async close(): Promise<void> {
    const connections = [this.#client, this.#subscriber];
    this.#client = undefined;
    this.#subscriber = undefined;
    await Promise.allSettled(connections.map(async (redis) => (await redis)?.quit()));
  }

  /** The command connection: no offline queue, so a Redis that is down fails each try at once. */
  #redis(): Promise<Redis> {
    this.#client ??= this.#connect({ enableOfflineQueue: !this.#options.onStoreFailed });
    return this.#client;
  }

  async #chords(): Promise<ChordCounter> {
    return redisChordCounter(await this.#redis(), { expiresSeconds: this.#config.RESULT_EXPIRES_SECONDS });
  }

  #subscribed(): Promise<Redis> {
    this.#subscriber ??= this.#connect({ enableOfflineQueue: true }).then((subscriber) =>
      subscriber.on('message', (channel: string, message: string) => {
        const meta = decodeResult(message);
        for (const waiter of this.#waiters.get(channel) ?? []) if (meta) waiter(meta);
      }),
    );
    return this.#subscriber;
  }

  async #connect({ enableOfflineQueue }: { enableOfflineQueue: boolean }): Promise<Redis> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(this.#config.RESULT_BACKEND_URL ?? '', {
      enableOfflineQueue,
      maxRetriesPerRequest: enableOfflineQueue ? 1 : 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
    });
    redis.on('error', () => {}); // each command's failure is handled where it is made
    return redis;
  }

  #idle(): void {
    if (this.#options.closeWhenIdle && this.#waiters.size === 0) void this.close();
  }
}
