// Why a message could not run. Each kind is handled differently by the worker, so each has a type.

/** The SQS body is not a Celery message this worker can read. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/** The message names a task this worker does not have. */
export class UnknownTaskError extends Error {
  override name = 'UnknownTaskError';
}

/** The arguments do not match the task's schema. */
export class InvalidArgumentsError extends Error {
  override name = 'InvalidArgumentsError';
}

/** An encoded message would exceed the SQS body limit. */
export class PayloadTooLargeError extends Error {
  override name = 'PayloadTooLargeError';
}

/** An environment variable is missing or invalid. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * An entry of src/config/schedules.ts that EventBridge Scheduler or this worker would refuse; the
 * message is one sentence naming the schedule and the field, and saying the fix.
 */
export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/**
 * The worker cannot start, for a reason outside its configuration's syntax (a port in use, no SQS
 * at the endpoint, no AWS credentials, a missing queue); the message is one sentence with the fix.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Thrown by a task: this failure will not go away by trying again; dead-letter it now. */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';
}

/** Thrown by a task: try again after `delaySeconds` (counts as a retry; `maxRetries` still applies). */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError';
  readonly delaySeconds: number;
  constructor(delaySeconds: number, message = `retry in ${delaySeconds} s`) {
    // NaN or Infinity would reach the retry's eta and SQS's DelaySeconds: refused here, where it is made.
    if (!Number.isFinite(delaySeconds)) {
      throw new TypeError(`RetryLaterError needs a finite delaySeconds ≥ 0, got ${delaySeconds}`);
    }
    super(message);
    this.delaySeconds = delaySeconds;
  }
}

/**
 * The task's eta is further away than this worker holds a message (ETA_HORIZON_DAYS), or than its
 * FIFO queue can hide it before the redrive policy moves it: refused now, with the reason, rather
 * than copied or hidden for years.
 */
export class EtaTooFarError extends Error {
  override name = 'EtaTooFarError';
}

/** The task ran past its `timeLimitSeconds`. */
export class TimeLimitExceededError extends Error {
  override name = 'TimeLimitExceededError';
}

/**
 * The message's canvas (its links, link_errors, the next step of its chain, a chord) cannot be
 * carried out by this worker: found before the task runs, so the task is dead-lettered unrun.
 */
export class CanvasError extends Error {
  override name = 'CanvasError';
}

/**
 * The task succeeded, but what its canvas asks to send next could not be sent (the queue routed
 * to does not exist, the result is too large): its own work is done, and the reason says so.
 */
export class CanvasSendError extends Error {
  override name = 'CanvasSendError';
}

/**
 * A duplicate of an idempotent task that had completed, whose links or chain need its result, but
 * its result was not kept (too large, or not JSON): the task is not run again, and the reason says so.
 */
export class ResultNotKeptError extends Error {
  override name = 'ResultNotKeptError';
}

/** The queue does not exist; the fix depends on where SQS is (startup.ts says it). */
export class QueueNotFoundError extends Error {
  override name = 'QueueNotFoundError';
  readonly queue: string;
  constructor(queue: string) {
    super(`SQS queue "${queue}" does not exist`);
    this.queue = queue;
  }
}

/** The AWS SDK's names for credentials that are missing, expired or wrong: one sentence with the fix for each. */
export const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'CredentialsProviderError',
  'TokenProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
]);

/**
 * A schedule expression or time zone that Amazon EventBridge Scheduler would refuse; the message is
 * one sentence naming the field, its value and what EventBridge accepts.
 */
export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}
