// Waiting, backing off and giving up: the few timing helpers the runtime and the integrations share.

/** SQS returns at most 10 messages per receive, and takes at most 10 entries per batch call. */
export const MAX_BATCH = 10;

/**
 * The long poll's wait: a receive returns as soon as a message is there, or empty after this. A stop
 * lets an open poll finish (see QueueConsumer.stop), so this bounds that too; RECEIVE_WAIT_SECONDS
 * may shorten it, never lengthen it.
 */
export const DEFAULT_WAIT_SECONDS = 10;
/** A receive gets this long beyond its long-poll wait to answer, before it counts as failed. */
export const RECEIVE_PATIENCE_SECONDS = 5;

/** After the grace period: how long giving messages back and flushing deletes may take. */
export const STOP_BUDGET_SECONDS = 5;

/** SHUTDOWN_GRACE_SECONDS when it is not set: how long tasks in flight get to finish on a stop. */
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 30;

/** A prefork primary waits this long past its processes' own stop deadline, then SIGKILLs them. */
export const KILL_AFTER_SECONDS = 5;

/**
 * How long a worker's `stop(graceSeconds)` takes at most, whatever SQS does: the grace, or an open
 * long poll's deadline if that is later, then the budget to give messages back and flush deletes.
 */
export function stopDeadlineSeconds(graceSeconds: number): number {
  return Math.max(graceSeconds, DEFAULT_WAIT_SECONDS + RECEIVE_PATIENCE_SECONDS) + STOP_BUDGET_SECONDS;
}

/**
 * How long the worker's process takes at most from SIGTERM to its exit: its stop's deadline, and a
 * prefork primary's wait beyond it. Whatever kills it after a timeout (Kubernetes'
 * terminationGracePeriodSeconds in deploy/k8s/, rendered from this) must wait longer, or it cuts
 * the drain short.
 */
export function processStopSeconds(graceSeconds: number): number {
  return stopDeadlineSeconds(graceSeconds) + KILL_AFTER_SECONDS;
}

/**
 * The longest delay Node's timers take (about 24.8 days): a longer one fires after 1 ms instead,
 * with only a TimeoutOverflowWarning. A Celery `time_limit` or an eta can be longer.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `ms` as a single timer can take it: whole (AbortSignal.timeout refuses a fraction), from 0 to
 * MAX_TIMER_MS (NaN or less: 0). For waits that may end early; a wait that must not, see `after`.
 */
export function timerMs(ms: number): number {
  return ms > 0 ? Math.min(MAX_TIMER_MS, Math.ceil(ms)) : 0;
}

/**
 * Calls `fn` once `ms` have passed, however long that is: a wait longer than one timer takes is
 * made of several. Infinity never fires. Returns the function that cancels it.
 */
export function after(ms: number, fn: () => void): () => void {
  let left = Math.max(ms, 0); // NaN stays NaN, which fires at once
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const step = timerMs(left);
    left -= step;
    timer = setTimeout(() => (left > 0 ? arm() : fn()), step);
  };
  arm();
  return () => clearTimeout(timer);
}

/** `seconds` as SQS takes a VisibilityTimeout or DelaySeconds: whole, from 0 to `max` (NaN or less: 0). */
export function wholeSeconds(seconds: number, max: number): number {
  return seconds > 0 ? Math.min(max, Math.ceil(seconds)) : 0;
}

/** Resolves after `ms` (any length, see `after`), or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = after(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Exponential back-off with jitter: attempt 1 waits 0.25–0.5 s, doubling up to 15–30 s. */
export function backoffMs(attempt: number): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(Math.max(attempt, 1) - 1, 10));
  return cap / 2 + Math.random() * (cap / 2);
}

/** `promise`, or `fallback` once `ms` have passed: for steps that must not hold up a stop. */
export async function within<T>(ms: number, promise: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timerMs(ms));
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An AbortController that also aborts after `ms` with a TimeoutError: the deadline of one SQS call.
 * `done()` clears the timer once the call has settled.
 */
export function deadline(ms: number): { signal: AbortSignal; abort(): void; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer from SQS within ${Math.round(ms / 1000)} s`, 'TimeoutError')),
    timerMs(ms),
  );
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    done: () => clearTimeout(timer),
  };
}
