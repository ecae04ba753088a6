// What becomes of one message, decided apart from doing it (processor.ts carries it out): every
// rule in one place, in the order Celery's worker applies them, each testable without SQS.
import { type CeleryMessage, decodeMessage, isoTime, withHeaders } from './codec.ts';
import { NonRetryableError, PayloadTooLargeError, RetryLaterError, UnknownTaskError } from './errors.ts';
import type { DeadLetterReason } from './queue-client.ts';
import { MIN_RETRY_DELAY_SECONDS, retryDelaySeconds } from './retry.ts';
import { parseArguments, retryPolicy, type TaskDefinition } from './task.ts';

/** Before any task runs. */
export type Verdict =
  | { action: 'run'; celery: CeleryMessage; task: TaskDefinition; args: unknown[] }
  /** `expires` has passed: delete it unrun, as Celery does. */
  | { action: 'expire'; celery: CeleryMessage }
  /** Its `eta` is `seconds` away: back to the queue until then, never held here. */
  | { action: 'wait'; celery: CeleryMessage; seconds: number }
  /** A task that cannot run: unknown here, or arguments its schema refuses. */
  | { action: 'dead-letter'; reason: DeadLetterReason; celery: CeleryMessage }
  /** Not a Celery message this worker can read (nor could a Python worker). */
  | { action: 'undecodable'; reason: DeadLetterReason };

/** After its task failed. */
export type Failure =
  /** A new message, Celery's retry: `retries` + 1 and an `eta`; then the original is deleted. */
  | { action: 'retry'; body: string; delaySeconds: number }
  /** FIFO: the same message runs again after the delay, in its place in its group. */
  | { action: 'retry-here'; delaySeconds: number }
  | { action: 'dead-letter'; reason: DeadLetterReason; why: string };

/** A message not yet due goes back to the queue unless its eta is this close. */
const ETA_SLACK_MS = 1000;

export function inspect(
  body: string,
  tasks: ReadonlyMap<string, TaskDefinition>,
  maxBytes: number,
  now = Date.now(),
): Verdict {
  let celery: CeleryMessage;
  try {
    const bytes = Buffer.byteLength(body);
    if (bytes > maxBytes) throw new PayloadTooLargeError(`the body is ${bytes} bytes, over its queue's ${maxBytes}`);
    celery = decodeMessage(body);
  } catch (error) {
    return { action: 'undecodable', reason: { error: error as Error } };
  }
  if (celery.expires && celery.expires.getTime() <= now) return { action: 'expire', celery };
  if (celery.eta && celery.eta.getTime() > now + ETA_SLACK_MS) {
    return { action: 'wait', celery, seconds: (celery.eta.getTime() - now) / 1000 };
  }
  const known = { task: celery.task, taskId: celery.id, retries: celery.retries };
  const task = tasks.get(celery.task);
  if (!task) {
    const error = new UnknownTaskError(
      `no task "${celery.task}" in this worker (it has: ${[...tasks.keys()].join(', ')}); register it in src/tasks/index.ts`,
    );
    return { action: 'dead-letter', celery, reason: { ...known, error } };
  }
  try {
    return { action: 'run', celery, task, args: parseArguments(task, celery.args, celery.kwargs) };
  } catch (error) {
    return { action: 'dead-letter', celery, reason: { ...known, error: error as Error } };
  }
}

/**
 * Retried or dead-lettered, by the task's retry policy, after `retries` runs so far (the message's
 * `retries` header, unless the caller counts otherwise). A retry waits at least `minDelaySeconds`;
 * `inPlace` (FIFO) keeps the message instead of sending Celery's retry.
 */
export function afterFailure(
  celery: CeleryMessage,
  task: TaskDefinition,
  error: Error,
  {
    maxBytes,
    retries = celery.retries,
    inPlace = false,
    minDelaySeconds = MIN_RETRY_DELAY_SECONDS,
    now = Date.now(),
  }: { maxBytes: number; retries?: number; inPlace?: boolean; minDelaySeconds?: number; now?: number },
): Failure {
  const policy = retryPolicy(task);
  const reason = { error, task: celery.task, taskId: celery.id, retries };
  if (error instanceof NonRetryableError) return { action: 'dead-letter', reason, why: 'not retryable' };
  if (retries >= policy.maxRetries) return { action: 'dead-letter', reason, why: `${retries} retries used` };
  const wanted = error instanceof RetryLaterError ? error.delaySeconds : retryDelaySeconds(policy, retries);
  const delaySeconds = Math.max(minDelaySeconds, wanted);
  if (inPlace) return { action: 'retry-here', delaySeconds };
  const headers = { retries: celery.retries + 1, eta: isoTime(new Date(now + delaySeconds * 1000)) };
  try {
    return { action: 'retry', body: withHeaders(celery, headers, maxBytes), delaySeconds };
  } catch {
    // At the size limit the longer headers may not fit: without the outer base64 layer (which kombu
    // and this worker both read) the body is a quarter smaller.
  }
  try {
    return { action: 'retry', body: withHeaders({ ...celery, outerBase64: false }, headers, maxBytes), delaySeconds };
  } catch (encodeError) {
    return {
      action: 'dead-letter',
      reason: { ...reason, error: encodeError as Error },
      why: 'its retry would not fit in the queue',
    };
  }
}
