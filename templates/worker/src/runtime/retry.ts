// When a failed task runs again. Celery-compatible: the retry is a new message with the same id,
// `retries` + 1 and an `eta`; SQS's DelaySeconds hides it until then.

export interface RetryPolicy {
  /** Runs after the first one; 0 sends the first failure to the dead-letter queue. */
  maxRetries: number;
  /** `exponential`: base × 2^retries; `fixed`: base every time. */
  backoff: 'exponential' | 'fixed';
  baseSeconds: number;
  /** No delay is longer than this. */
  maxSeconds: number;
  /** Spread retries over [delay/2, delay] so failures together do not retry together. */
  jitter: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 3,
  backoff: 'exponential',
  baseSeconds: 2,
  maxSeconds: 600,
  jitter: true,
};

/** No retry comes sooner than this: a task that fails at once must not become a hot loop. */
export const MIN_RETRY_DELAY_SECONDS = 1;

/** The delay before retry number `retries + 1`, in whole seconds, never under the floor. */
export function retryDelaySeconds(policy: RetryPolicy, retries: number, random: () => number = Math.random): number {
  const raw = policy.backoff === 'exponential' ? policy.baseSeconds * 2 ** retries : policy.baseSeconds;
  const capped = Math.min(policy.maxSeconds, raw);
  const delay = policy.jitter ? capped / 2 + random() * (capped / 2) : capped;
  return Math.max(MIN_RETRY_DELAY_SECONDS, Math.round(delay));
}
