// Waiting, backing off and giving up: the few timing helpers the runtime and the integrations share.

/** SQS returns at most 10 messages per receive, and takes at most 10 entries per batch call. */
export const MAX_BATCH = 10;

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
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
    timer = setTimeout(() => resolve(fallback), Math.max(0, ms));
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
    ms,
  );
  return {
    signal: controller.signal,
    abort: () => controller.abort(),
    done: () => clearTimeout(timer),
  };
}
