// What becomes of one message, decided apart from doing it (processor.ts carries it out): every
// rule in one place, in the order Celery's worker applies them, each testable without SQS.
import { afterSuccess, type CanvasSupport, canvasProblem, errbacksOf, type Outgoing, type Routes } from './canvas.ts';
import { type CeleryMessage, decodeMessage, isoTime, withHeaders } from './codec.ts';
import {
  CanvasError,
  CanvasSendError,
  EtaTooFarError,
  NonRetryableError,
  PayloadTooLargeError,
  RetryLaterError,
  UnknownTaskError,
} from './errors.ts';
import { type DeadLetterReason, MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS } from './queue-client.ts';
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

/** An eta further away than this is refused (ETA_HORIZON_DAYS). */
export const DEFAULT_ETA_HORIZON_DAYS = 365;

export function inspect(
  body: string,
  tasks: ReadonlyMap<string, TaskDefinition>,
  maxBytes: number,
  now = Date.now(),
  routes: Routes = [],
  etaHorizonDays = DEFAULT_ETA_HORIZON_DAYS,
  support: CanvasSupport = {},
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
    const seconds = (celery.eta.getTime() - now) / 1000;
    if (seconds <= etaHorizonDays * DAY_SECONDS) return { action: 'wait', celery, seconds };
    const error = new EtaTooFarError(
      `its eta ${celery.eta.toISOString()} is ${Math.round(seconds / DAY_SECONDS)} days away, beyond this worker's horizon of ${etaHorizonDays} days (ETA_HORIZON_DAYS)`,
    );
    return {
      action: 'dead-letter',
      celery,
      reason: { error, task: celery.task, taskId: celery.id, retries: celery.retries },
    };
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
  const problem = canvasProblem(celery.embed, routes, support);
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

const DAY_SECONDS = 86_400;

/** The longest a received message is hidden again: SQS's 12 hours from its receipt, less a margin. */
export const LONGEST_HIDE_SECONDS = MAX_VISIBILITY_SECONDS - 60;

/** One hop of a message waiting `seconds` more for its eta (a `wait` verdict). */
export type EtaHop =
  /** Given back hidden for `seconds`: no copy, so nothing can multiply; a receive counted. */
  | { action: 'hide'; seconds: number }
  /** Replaced by a copy delayed `delaySeconds` (SQS's most: 15 minutes), whose receive count starts afresh. */
  | { action: 'copy'; delaySeconds: number }
  /** A FIFO message (never copied: it would go to the end of its group) the redrive policy would move first. */
  | { action: 'refuse'; error: EtaTooFarError };

/**
 * Each hide costs a receive, and SQS moves a message to the dead-letter queue after its queue's
 * `maxReceiveCount`: a message is hidden again (12 hours at most) while that leaves a receive to
 * spare once it is due, and only then copied. A far eta so costs one copy per
 * (maxReceiveCount − 1) × 12 hours, not one per 15 minutes.
 */
export function etaHop(
  seconds: number,
  { receiveCount, maxReceiveCount, fifo }: { receiveCount: number; maxReceiveCount?: number; fifo: boolean },
): EtaHop {
  const hide = { action: 'hide', seconds: Math.min(seconds, LONGEST_HIDE_SECONDS) } as const;
  if (maxReceiveCount === undefined) return hide;
  if (fifo) {
    // Its last receive must come once it is due.
    const receivesLeft = maxReceiveCount - receiveCount;
    if (seconds <= receivesLeft * LONGEST_HIDE_SECONDS) return hide;
    const error = new EtaTooFarError(
      `its eta is ${Math.round(seconds / 3600)} hours away, and a FIFO queue can only hide it again (12 hours at a time, never copying it) ${receivesLeft} more times before its redrive policy (maxReceiveCount ${maxReceiveCount}) moves it`,
    );
    return { action: 'refuse', error };
  }
  if (receiveCount + 2 <= maxReceiveCount) return hide;
  return { action: 'copy', delaySeconds: Math.min(seconds, MAX_DELAY_SECONDS) };
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
