// What becomes of one message, decided apart from doing it (processor.ts carries it out): every
// rule in one place, in the order Celery's worker applies them, each testable without SQS.
import { afterSuccess, canvasProblem, errbacksOf, type Outgoing, type Routes } from './canvas.ts';
import { type CeleryMessage, decodeMessage, isoTime, withHeaders } from './codec.ts';
import {
  CanvasError,
  CanvasSendError,
  NonRetryableError,
  PayloadTooLargeError,
  RetryLaterError,
  UnknownTaskError,
} from './errors.ts';
import type { DeadLetterReason } from './queue-client.ts';
import { MIN_RETRY_DELAY_SECONDS, retryDelaySeconds } from './retry.ts';
import { isSqsFault } from './sqs.ts';
import { parseArguments, retryPolicy, type TaskDefinition } from './task.ts';

/** Before any task runs. */
export type Verdict =
  | { action: 'run'; celery: CeleryMessage; task: TaskDefinition; args: unknown[] }
  /** `expires` has passed: delete it unrun, as Celery does. */
  | { action: 'expire'; celery: CeleryMessage }
  /** Its `eta` is `seconds` away: back to the queue until then, never held here. */
  | { action: 'wait'; celery: CeleryMessage; seconds: number }
  /**
   * A task that cannot run: unknown here, a canvas this worker cannot carry out, or arguments its
   * schema refuses — a failure of the task, so its link_errors (`errbacks`) are sent first.
   */
  | { action: 'dead-letter'; reason: DeadLetterReason; celery: CeleryMessage; errbacks?: Outgoing[] }
  /** Not a Celery message this worker can read (nor could a Python worker). */
  | { action: 'undecodable'; reason: DeadLetterReason };

/** After its task failed. */
export type Failure =
  /** A new message, Celery's retry: `retries` + 1 and an `eta`; then the original is deleted. */
  | { action: 'retry'; body: string; delaySeconds: number }
  /** FIFO: the same message runs again after the delay, in its place in its group. */
  | { action: 'retry-here'; delaySeconds: number }
  /** Failed for good: its link_errors (`errbacks`) are sent, then it is dead-lettered. */
  | { action: 'dead-letter'; reason: DeadLetterReason; why: string; errbacks: Outgoing[] };

/** After its task succeeded: its canvas's next messages are sent (maybe none), then it is deleted. */
export type Success = { action: 'done'; send: Outgoing[] };

/** What its canvas asked to send could not be sent. */
export type Unsent =
  /** It never will be: dead-lettered, saying the task's own work is done. */
  | { action: 'dead-letter'; reason: DeadLetterReason }
  /** SQS's passing fault: the message is left to be delivered again, and runs again. */
  | { action: 'leave' };

/** A message not yet due goes back to the queue unless its eta is this close. */
const ETA_SLACK_MS = 1000;

export function inspect(
  body: string,
  tasks: ReadonlyMap<string, TaskDefinition>,
  maxBytes: number,
  now = Date.now(),
  routes: Routes = [],
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
  // Before it runs: nothing runs whose result could not go on.
  const problem = canvasProblem(celery.embed, routes);
  if (problem) {
    const error = new CanvasError(`not run: ${problem}`);
    return { action: 'dead-letter', celery, reason: { ...known, error } };
  }
  try {
    return { action: 'run', celery, task, args: parseArguments(task, celery.args, celery.kwargs) };
  } catch (error) {
    const errbacks = errbacksOf(celery, routes, now);
    return { action: 'dead-letter', celery, reason: { ...known, error: error as Error }, errbacks };
  }
}

/** Its links and its chain's next step, each with the result prepended (canvas.ts). */
export function afterRun(celery: CeleryMessage, result: unknown, routes: Routes, now = Date.now()): Success {
  return { action: 'done', send: afterSuccess(celery, result, routes, now) };
}

/**
 * Sending what the task's canvas asked for failed with `error`. Only SQS's passing faults leave the
 * message to be delivered again (and run again); anything else — no such queue, a message too large, a
 * result JSON cannot carry (a BigInt), a canvas nested too deep to encode — would fail the same way at
 * every delivery, so it is dead-lettered at once with its reason.
 */
export function whenUnsent(celery: CeleryMessage, error: unknown, retries = celery.retries): Unsent {
  if (isSqsFault(error)) return { action: 'leave' };
  const why = new CanvasSendError(
    `the task succeeded and its own work is done, but what it sends next could not be sent: ${describeError(error)}. Redriving this message runs the task again, then sends it`,
  );
  return { action: 'dead-letter', reason: { error: why, task: celery.task, taskId: celery.id, retries } };
}

const describeError = (error: unknown) =>
  error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);

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
    routes = [],
  }: {
    maxBytes: number;
    retries?: number;
    inPlace?: boolean;
    minDelaySeconds?: number;
    now?: number;
    routes?: Routes;
  },
): Failure {
  const policy = retryPolicy(task);
  const reason = { error, task: celery.task, taskId: celery.id, retries };
  const final = (why: string, because = reason): Failure => ({
    action: 'dead-letter',
    reason: because,
    why,
    errbacks: errbacksOf(celery, routes, now),
  });
  if (error instanceof NonRetryableError) return final('not retryable');
  if (retries >= policy.maxRetries) return final(`${retries} retries used`);
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
    return final('its retry would not fit in the queue', { ...reason, error: encodeError as Error });
  }
}
