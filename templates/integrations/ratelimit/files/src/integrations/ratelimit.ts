// Queue-level rate limits, checked before receiving: a queue receives only as many messages as
// its ratelimit allows now, and never holds messages it may not run yet. Backends:
// - local: a token bucket in this process (RATELIMIT_LIMITS per second);
// - redis: the same limits shared by every replica, in Redis (rate-limiter-flexible);
// - http: Envoy's open-source ratelimit service (POST /json), one limit for every replica.
// When Redis or the service cannot be reached, the worker goes on at the local limit, and says so
// in logs and metrics: it neither stops nor runs unlimited. Only the redis backend loads ioredis
// and rate-limiter-flexible.
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { z } from 'zod';
import { httpUrl } from '../runtime/config.ts';
import { whenConnected } from '../runtime/connecting.ts';
import { ConfigError } from '../runtime/errors.ts';
import type { IntegrationContext, ReceiveLimiter, WorkerHooks } from '../runtime/index.ts';
import { sleep } from '../runtime/timing.ts';

export const ratelimitEnv = {
  RATELIMIT_BACKEND: z.enum(['local', 'redis', 'http']).default('local'),
  /** Redis for backend redis, e.g. redis://redis:6379. */
  REDIS_URL: z
    .url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL, e.g. redis://localhost:6379' })
    .optional(),
  /** Messages per second per ratelimit name, e.g. "images=5,emails=20"; others get the default. */
  RATELIMIT_LIMITS: z
    .string()
    .regex(/^([A-Za-z0-9][A-Za-z0-9_.:-]*=\d+(\.\d+)?)(,[A-Za-z0-9][A-Za-z0-9_.:-]*=\d+(\.\d+)?)*$/, {
      message: 'a list of name=per-second pairs, e.g. "images=5,emails=20"',
    })
    .optional(),
  RATELIMIT_DEFAULT_PER_SECOND: z.coerce.number().positive().default(10),
  /** The ratelimit service, e.g. http://ratelimit:8080 (backend http). */
  RATELIMIT_URL: httpUrl('http://ratelimit:8080').optional(),
  RATELIMIT_DOMAIN: z.string().min(1).optional(),
};

type RatelimitConfig = z.output<z.ZodObject<typeof ratelimitEnv>>;

/** rate-limiter-flexible's exports, imported by the redis backend. */
type Limiters = typeof import('rate-limiter-flexible');

export async function ratelimit(
  config: RatelimitConfig,
  { name, log, metrics, prefix }: IntegrationContext,
): Promise<WorkerHooks> {
  if (config.RATELIMIT_BACKEND === 'http' && !config.RATELIMIT_URL) {
    throw new ConfigError(
      'RATELIMIT_BACKEND=http needs RATELIMIT_URL: set it to the ratelimit service, e.g. http://ratelimit:8080, or use RATELIMIT_BACKEND=local',
    );
  }
  if (config.RATELIMIT_BACKEND === 'redis' && !config.REDIS_URL) {
    throw new ConfigError(
      'RATELIMIT_BACKEND=redis needs REDIS_URL: set it, e.g. redis://redis:6379, or use RATELIMIT_BACKEND=local',
    );
  }
  let redis: Redis | undefined;
  let limiters: Limiters | undefined;
  if (config.RATELIMIT_BACKEND === 'redis') {
    const { Redis } = await import('ioredis');
    limiters = await import('rate-limiter-flexible');
    // One connection for every queue; no offline queue, so a Redis that is down fails fast.
    redis = new Redis(config.REDIS_URL ?? '', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
    });
    redis.on('error', () => {}); // reported per queue, through the fallback
  }
  const limits = new Map(
    (config.RATELIMIT_LIMITS ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string])
      .map(([key, value]) => [key, Number(value)]),
  );
  const fallbacks = new Counter({
    name: `${prefix}_ratelimit_fallback_total`,
    help: 'Receives limited locally because the ratelimit service could not be reached',
    labelNames: ['ratelimit'],
    registers: [metrics.registry],
  });
  return {
    limiterFor({ ratelimit: limitName }) {
      if (!limitName) return undefined;
      const perSecond = limits.get(limitName) ?? config.RATELIMIT_DEFAULT_PER_SECOND;
      const local = new TokenBucket(perSecond);
      const onFallback = (error: Error) => {
        fallbacks.inc({ ratelimit: limitName });
        log.warn({ ratelimit: limitName, err: error }, 'ratelimit backend unreachable; using the local limit');
      };
      if (config.RATELIMIT_BACKEND === 'local') return local;
      if (redis && limiters) {
        return new RedisLimit({
          redis,
          limiters,
          name: `${name}:${limitName}`,
          perSecond,
          fallback: local,
          onFallback,
        });
      }
      return new RatelimitService({
        url: config.RATELIMIT_URL ?? '',
        domain: config.RATELIMIT_DOMAIN ?? name,
        descriptor: limitName,
        fallback: local,
        onFallback,
      });
    },
    async close() {
      redis?.disconnect();
    },
  };
}

/** `perSecond` tokens a second, at most one second's worth saved up. */
export class TokenBucket implements ReceiveLimiter {
  #tokens: number;
  #updated = performance.now();
  readonly #perSecond: number;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
  }

  async acquire(wanted: number, signal: AbortSignal): Promise<number> {
    for (;;) {
      this.#refill();
      if (this.#tokens >= 1) {
        const granted = Math.min(wanted, Math.floor(this.#tokens));
        this.#tokens -= granted;
        return granted;
      }
      await sleep(((1 - this.#tokens) / this.#perSecond) * 1000, signal);
      if (signal.aborted) return 0;
    }
  }

  release(unused: number): void {
    this.#tokens = Math.min(this.#perSecond, this.#tokens + unused);
  }

  #refill(): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#updated) / 1000) * this.#perSecond);
    this.#updated = now;
  }
}

interface RedisOptions {
  redis: Redis;
  limiters: Limiters;
  /** The key: worker and ratelimit name, shared by every replica. */
  name: string;
  perSecond: number;
  fallback: ReceiveLimiter;
  onFallback(error: Error): void;
}

/** One limit for all replicas: a point per message in a one-second window in Redis. */
export class RedisLimit implements ReceiveLimiter {
  readonly #options: RedisOptions;
  readonly #limiter: RateLimiterRedis;
  #usingFallback = false;

  constructor(options: RedisOptions) {
    this.#options = options;
    this.#limiter = new options.limiters.RateLimiterRedis({
      storeClient: options.redis,
      keyPrefix: 'be-worker-ratelimit',
      points: options.perSecond,
      duration: 1,
    });
  }

  async acquire(wanted: number, signal: AbortSignal): Promise<number> {
    await whenConnected(this.#options.redis, 2000);
    while (!signal.aborted) {
      let granted = 0;
      try {
        // A point at a time, so a grant never goes past the limit.
        for (; granted < wanted; granted++) await this.#limiter.consume(this.#options.name, 1);
      } catch (rejection) {
        if (!(rejection instanceof this.#options.limiters.RateLimiterRes)) {
          if (!this.#usingFallback) this.#options.onFallback(rejection as Error);
          this.#usingFallback = true;
          return granted || this.#options.fallback.acquire(wanted, signal);
        }
        this.#usingFallback = false;
        if (granted === 0) {
          await sleep(Math.max(10, rejection.msBeforeNext), signal);
          continue;
        }
      }
      this.#usingFallback = false;
      return granted;
    }
    return 0;
  }

  /** Points not used by a receive go back, so an idle poll does not spend the shared limit. */
  release(unused: number): void {
    if (unused > 0) this.#limiter.reward(this.#options.name, unused).catch(() => {});
  }
}

interface ServiceOptions {
  url: string;
  domain: string;
  descriptor: string;
  fallback: ReceiveLimiter;
  onFallback(error: Error): void;
}

/** Envoy's ratelimit service: `POST /json` with the queue's ratelimit name as the descriptor. */
export class RatelimitService implements ReceiveLimiter {
  readonly #options: ServiceOptions;
  #usingFallback = false;

  constructor(options: ServiceOptions) {
    this.#options = options;
  }

  async acquire(wanted: number, signal: AbortSignal): Promise<number> {
    const { url, domain, descriptor, fallback, onFallback } = this.#options;
    for (let hits = wanted; !signal.aborted; hits = 1) {
      let answer: { overallCode?: string; statuses?: { durationUntilReset?: string }[] };
      try {
        const response = await fetch(new URL('/json', url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            domain,
            descriptors: [{ entries: [{ key: 'queue', value: descriptor }] }],
            hits_addend: hits,
          }),
          signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
        });
        if (!response.ok && response.status !== 429) throw new Error(`ratelimit service answered ${response.status}`);
        answer = (await response.json()) as typeof answer;
      } catch (error) {
        if (signal.aborted) return 0;
        if (!this.#usingFallback) onFallback(error as Error);
        this.#usingFallback = true;
        return fallback.acquire(wanted, signal);
      }
      this.#usingFallback = false;
      if (answer.overallCode === 'OK') return hits;
      // OVER_LIMIT: wait for the window to reset (or a second), then ask for one.
      const reset = Number.parseFloat(answer.statuses?.[0]?.durationUntilReset ?? '1') || 1;
      await sleep(Math.min(reset, 60) * 1000, signal);
    }
    return 0;
  }
}
