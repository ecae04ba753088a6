// Idempotency keys, opt-in per task (`defineTask({ idempotency: { ttlSeconds } })`): before a run
// the worker claims the task's key in a store (the `idempotency` integration keeps them in Redis).
// A key already completed is not run again; one claimed by a run in progress elsewhere waits. A
// claim is held as long as its run goes on in this process — not only while the message's lease
// holds: a run whose lease was lost still runs (ctx.signal only asks it to stop), and a second run
// beside it is the very duplicate this exists to stop. A process that dies stops extending it, so
// the claim expires one lease (the queue's visibility timeout) later.
import type { TaskContext } from './task.ts';
import { after } from './timing.ts';

export interface IdempotencyOptions<Args = unknown> {
  /** The key of a run: the Celery task id by default. Two messages with one key run once. */
  key?: (args: Args, ctx: TaskContext) => string;
  /** How long a completed key (and its result, for links and chains) is kept: at most 30 days. */
  ttlSeconds: number;
}

/** The longest `ttlSeconds` a task may ask for: keys are a cache of what ran, not a record. */
export const MAX_IDEMPOTENCY_TTL_SECONDS = 30 * 24 * 3600;

export type Claim =
  | { status: 'claimed'; token: string }
  /** Completed: its result, or why it was not kept (too large, not JSON) and `result` is undefined. */
  | { status: 'done'; result: unknown; notKept?: string }
  /** Claimed by a run in progress elsewhere, whose claim expires in `retryAfterSeconds` at most. */
  | { status: 'busy'; retryAfterSeconds?: number };

export interface IdempotencyStore {
  /** Claims `key` for `leaseSeconds` unless it is completed or claimed already. Rejects when the store cannot be reached. */
  claim(key: string, leaseSeconds: number): Promise<Claim>;
  /** Marks the key completed with `result` for `ttlSeconds`; false (nothing written) if `token`'s claim is no longer held. */
  complete(key: string, token: string, result: unknown, ttlSeconds: number): Promise<boolean>;
  /** Gives the claim up so a retry can run; false if `token`'s claim is no longer held. */
  release(key: string, token: string): Promise<boolean>;
  /** Extends a claim while its run goes on; false if `token`'s claim is no longer held. */
  extend?(key: string, token: string, leaseSeconds: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The task's idempotency options are sound; throws a TypeError naming the task otherwise. */
export function checkIdempotencyOptions(task: string, options: IdempotencyOptions | undefined): void {
  if (options === undefined) return;
  const { key, ttlSeconds } = options;
  if (!(typeof ttlSeconds === 'number' && ttlSeconds >= 1 && ttlSeconds <= MAX_IDEMPOTENCY_TTL_SECONDS)) {
    throw new TypeError(
      `defineTask ${task}: idempotency.ttlSeconds must be a number from 1 to ${MAX_IDEMPOTENCY_TTL_SECONDS} (30 days), not ${String(ttlSeconds)}`,
    );
  }
  if (key !== undefined && typeof key !== 'function') {
    throw new TypeError(`defineTask ${task}: idempotency.key must be a function (args, ctx) => string`);
  }
}

/** The key of a run: the task's `key(args, ctx)` or the Celery task id. Throws when `key` returns no string. */
export function idempotencyKey<Args>(
  task: string,
  options: IdempotencyOptions<Args>,
  args: Args,
  ctx: TaskContext,
): string {
  if (!options.key) return ctx.id;
  const key = options.key(args, ctx);
  if (typeof key !== 'string' || key === '') {
    throw new TypeError(`task ${task}: idempotency.key returned ${JSON.stringify(key)}, not a non-empty string`);
  }
  return key;
}

/**
 * A claim this process holds: extended every third of its lease until it is completed, released
 * or abandoned. An extension the store refuses means the claim expired (the event loop was blocked,
 * the process paused) and maybe another run holds the key now: the run goes on, but its complete
 * will be refused, so it never overwrites the newer claim.
 */
export class HeldClaim {
  readonly key: string;
  readonly #store: IdempotencyStore;
  readonly #token: string;
  readonly #leaseSeconds: number;
  #stop: () => void = () => {};
  #ended = false;

  constructor(store: IdempotencyStore, key: string, token: string, leaseSeconds: number, onLost: () => void) {
    this.#store = store;
    this.key = key;
    this.#token = token;
    this.#leaseSeconds = leaseSeconds;
    const extend = this.#store.extend?.bind(this.#store);
    if (!extend) return;
    const every = (leaseSeconds * 1000) / 3;
    const next = () => {
      this.#stop = after(every, () => {
        if (this.#ended) return;
        extend(key, token, leaseSeconds).then(
          (held) => (held ? next() : onLost()),
          // Not reachable now: tried again in a third, while the claim still has two.
          next,
        );
      });
    };
    next();
  }

  get leaseSeconds(): number {
    return this.#leaseSeconds;
  }

  complete(result: unknown, ttlSeconds: number): Promise<boolean> {
    this.abandon();
    return this.#store.complete(this.key, this.#token, result, ttlSeconds);
  }

  release(): Promise<boolean> {
    this.abandon();
    return this.#store.release(this.key, this.#token);
  }

  /** Stops extending it: it expires at the end of its lease. */
  abandon(): void {
    this.#ended = true;
    this.#stop();
  }
}

/** What the store says before a run. */
export type Admission =
  | { action: 'run'; claim: HeldClaim }
  /** Its key function threw: the run counts as failed. */
  | { action: 'fail'; error: Error }
  /** The store cannot be reached: the task is not run unguarded. */
  | { action: 'unavailable'; error: unknown }
  /** A run elsewhere holds the key: come back in `seconds`, once its claim can have ended. */
  | { action: 'busy'; key: string; seconds: number }
  /** Completed already: not run again; its stored result, or why none was kept. */
  | { action: 'duplicate'; key: string; result: unknown; notKept?: string };

/**
 * Claims the run's key for one lease (`leaseSeconds`, the queue's visibility timeout), extended
 * while the run goes on; `onLost` is told when an extension finds the claim expired.
 */
export async function admit<Args>(
  store: IdempotencyStore | undefined,
  task: { name: string; idempotency?: IdempotencyOptions<Args> },
  args: Args,
  ctx: TaskContext,
  leaseSeconds: number,
  onLost: (key: string) => void,
): Promise<Admission> {
  // startWorker refuses a task with idempotency and no store: this is for a processor made without one.
  if (!store || !task.idempotency)
    return { action: 'fail', error: new Error(`task ${task.name} needs an idempotency store`) };
  let key: string;
  try {
    key = idempotencyKey(task.name, task.idempotency, args, ctx);
  } catch (error) {
    return { action: 'fail', error: error instanceof Error ? error : new Error(String(error)) };
  }
  let claim: Claim;
  try {
    claim = await store.claim(key, leaseSeconds);
  } catch (error) {
    return { action: 'unavailable', error };
  }
  switch (claim.status) {
    case 'claimed':
      return { action: 'run', claim: new HeldClaim(store, key, claim.token, leaseSeconds, () => onLost(key)) };
    case 'busy':
      return { action: 'busy', key, seconds: Math.ceil(claim.retryAfterSeconds ?? leaseSeconds) + 1 };
    case 'done':
      return {
        action: 'duplicate',
        key,
        result: claim.result,
        ...(claim.notKept !== undefined ? { notKept: claim.notKept } : {}),
      };
  }
}

/**
 * Ends a claim once its run ended: completed with its result for `ttlSeconds`, or released so the
 * retry can run — unless the run was given up at its hard time limit and may still go on, when the
 * claim is left to expire. Resolves false when the completion was refused (the claim had expired).
 * Rejects when the store cannot be reached.
 */
export async function settleClaim(
  claim: HeldClaim,
  ran: { error?: Error; stuck?: boolean; value?: unknown },
  ttlSeconds: number,
): Promise<boolean> {
  if (!ran.error) return claim.complete(ran.value, ttlSeconds);
  if (ran.stuck) {
    claim.abandon();
    return true;
  }
  await claim.release();
  return true;
}
