// Celery's result backend, as its Redis backend keeps it (celery/backends/base.py + redis.py):
// a task's final state is JSON under `celery-task-meta-<id>`, written with SETEX (the result
// expiry) and PUBLISHed on a channel of the same name, which Celery's ResultConsumer listens on.
import type { CeleryMessage } from './codec.ts';

export type CeleryState = 'PENDING' | 'STARTED' | 'RETRY' | 'FAILURE' | 'SUCCESS' | 'REVOKED';

/** The states after which a task's result no longer changes (Celery's READY_STATES). */
export const READY_STATES: ReadonlySet<CeleryState> = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** What Celery's Redis backend keeps under celery-task-meta-<id> (JSON). */
export interface TaskMeta {
  status: CeleryState;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  task_id: string;
  [extended: string]: unknown;
}

export type Outcome = { state: 'SUCCESS'; value: unknown } | { state: 'FAILURE'; error: Error };

export interface ResultBackend {
  /** Stores a task's final state as Celery's Redis backend does (honouring ignore_result), before its message is deleted. */
  store(request: CeleryMessage, outcome: Outcome): Promise<void>;
  /** The task's meta, or undefined when nothing is stored (PENDING). */
  meta(taskId: string): Promise<TaskMeta | undefined>;
  /** Resolves once the task is ready (SUCCESS/FAILURE/REVOKED), or rejects with a TimeoutError. */
  waitFor(taskId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<TaskMeta>;
  /** C fills this in: adds this chord header task's outcome to its chord's counter; resolves with the body's argument (the header results, in order) when this was the last part, else undefined. */
  chordPartReturn?(request: CeleryMessage, outcome: Outcome): Promise<ChordReady | undefined>;
  /** C: forgets the chord's counter once its body was sent (or failed): only then, so a crash before it completes the chord again. */
  chordDone?(request: CeleryMessage): Promise<void>;
  close(): Promise<void>;
}

export type ChordReady = { results: unknown[] } | { failed: { taskId: string; error: Error } };

/** Celery's encoding of an exception as a result: {exc_type, exc_message: [...], exc_module}. */
export interface EncodedFailure {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** Where Celery's Redis backend keeps a task's meta; also the channel it PUBLISHes it on. */
export const resultKey = (taskId: string) => `celery-task-meta-${taskId}`;

/**
 * The exc_module of a TypeScript error. No Python process has a module of this name, so Celery
 * (5.2 and 5.6 alike, `exception_to_python`) makes an Exception subclass named after exc_type
 * instead of looking it up: Python's `get()` raises e.g. `ValidationError('the message')`, whatever
 * the name — never a builtin of the same name with other meaning (`ReferenceError`), never a
 * SecurityError for a name that is a builtin but no exception (`print`).
 */
export const TYPESCRIPT_EXC_MODULE = 'typescript';

/** The longest error message stored; a longer one is cut, so a failure always fits. */
const MAX_MESSAGE_CHARS = 4096;

/**
 * A task that will not run: it expired before it started. Stored as Celery's worker stores one, state
 * REVOKED with Celery's own `celery.exceptions.TaskRevokedError`, which Python's `get()` raises.
 */
export class TaskRevokedError extends Error {
  override name = 'TaskRevokedError';
}

const isRevoked = (error: Error) => error.name === 'TaskRevokedError';

/** Celery's encoding of an exception as a result: {exc_type, exc_message: [...], exc_module}. */
export function encodeFailure(error: Error): EncodedFailure {
  if (isRevoked(error)) return { exc_type: error.name, exc_message: [error.message], exc_module: 'celery.exceptions' };
  const message =
    error.message.length > MAX_MESSAGE_CHARS ? `${error.message.slice(0, MAX_MESSAGE_CHARS)}…` : error.message;
  return { exc_type: error.name || 'Error', exc_message: [message], exc_module: celeryModuleOf(error) };
}

/** One of Celery's own exceptions made here (chord.ts's ChordError) names its module: Python raises Celery's class. */
function celeryModuleOf(error: Error): string {
  const { celeryModule } = error as { celeryModule?: unknown };
  return typeof celeryModule === 'string' ? celeryModule : TYPESCRIPT_EXC_MODULE;
}

/** A result that cannot be stored as it is (too large, or no JSON): stored as this failure instead. */
export class ResultNotStorableError extends Error {
  override name = 'ResultNotStorableError';
}

/** A task's result read from the backend was a failure (or it was revoked): Celery's exception, as data. */
export class TaskFailedError extends Error {
  override name = 'TaskFailedError';
  readonly taskId: string;
  readonly state: CeleryState;
  /** Celery's exc_type (`ValueError`), exc_message (the exception's args) and exc_module (`builtins`). */
  readonly excType: string;
  readonly excMessage: unknown[];
  readonly excModule: string | undefined;
  /** The traceback the worker stored (Python's, or a TypeScript stack). */
  readonly traceback: string | null;
  constructor(meta: TaskMeta) {
    const failure = asFailure(meta.result);
    const text = failure.exc_message.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(', ');
    super(`task ${meta.task_id} ${meta.status === 'REVOKED' ? 'was revoked' : 'failed'}: ${failure.exc_type}: ${text}`);
    this.taskId = meta.task_id;
    this.state = meta.status;
    this.excType = failure.exc_type;
    this.excMessage = failure.exc_message;
    this.excModule = failure.exc_module;
    this.traceback = meta.traceback;
  }
}

/** `get()` of a producer made without a result backend. */
export class NoResultBackendError extends Error {
  override name = 'NoResultBackendError';
  constructor() {
    super(
      'get() needs a result backend: generate the worker with the results integration (--with results) and set RESULT_BACKEND_URL',
    );
  }
}

/** Waiting for a result took longer than asked. */
export class ResultTimeoutError extends Error {
  override name = 'ResultTimeoutError';
}

/** Celery's exception dict, whatever a worker stored (another serializer's failure becomes its text). */
function asFailure(result: unknown): { exc_type: string; exc_message: unknown[]; exc_module: string | undefined } {
  if (result && typeof result === 'object' && 'exc_type' in result) {
    const { exc_type, exc_message, exc_module } = result as Record<string, unknown>;
    return {
      exc_type: String(exc_type),
      exc_message: Array.isArray(exc_message) ? exc_message : [exc_message ?? ''],
      exc_module: typeof exc_module === 'string' ? exc_module : undefined,
    };
  }
  return { exc_type: 'Exception', exc_message: [JSON.stringify(result)], exc_module: undefined };
}

/** A ready meta's value, or its failure thrown as a TaskFailedError. */
export function resultValue(meta: TaskMeta): unknown {
  if (meta.status === 'SUCCESS') return meta.result;
  throw new TaskFailedError(meta);
}

export interface EncodeResultOptions {
  /** The largest meta stored, in bytes of JSON: a larger result is stored as a failure saying so. */
  maxBytes: number;
  now?: Date;
}

/**
 * The JSON Celery's Redis backend stores for this outcome (base.py `_get_result_meta`): status,
 * result, traceback, children, date_done, task_id, and group_id/parent_id when the request has
 * them. Never the task's arguments (Celery's result_extended is not written).
 */
export function encodeResult(request: CeleryMessage, outcome: Outcome, options: EncodeResultOptions): string {
  const meta = metaOf(request, outcome, options.now ?? new Date());
  let json: string | undefined;
  try {
    json = JSON.stringify(meta);
  } catch (error) {
    return encodeResult(request, notStorable(`its result is not JSON (${(error as Error).message})`), options);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes <= options.maxBytes) return json;
  if (outcome.state === 'SUCCESS') {
    return encodeResult(
      request,
      notStorable(`its result is ${bytes} bytes of JSON, over RESULT_MAX_BYTES (${options.maxBytes})`),
      options,
    );
  }
  // A failure past the limit (a long stack): stored without its traceback, its message cut.
  return JSON.stringify({ ...meta, traceback: null });
}

const notStorable = (why: string): Outcome => ({
  state: 'FAILURE',
  error: new ResultNotStorableError(`the task succeeded, but ${why}: stored as a failure instead`),
});

function metaOf(request: CeleryMessage, outcome: Outcome, now: Date): TaskMeta {
  const { group, parent_id: parentId } = request.headers;
  const revoked = outcome.state === 'FAILURE' && isRevoked(outcome.error);
  return {
    status: revoked ? 'REVOKED' : outcome.state,
    // undefined (a task that returns nothing) is Python's None.
    result: outcome.state === 'SUCCESS' ? (outcome.value ?? null) : encodeFailure(outcome.error),
    traceback: outcome.state === 'FAILURE' && !revoked ? (outcome.error.stack ?? null) : null,
    children: [],
    date_done: pythonIsoTime(now),
    ...(group ? { group_id: group } : {}),
    ...(parentId ? { parent_id: parentId } : {}),
    task_id: request.id,
  };
}

/** As Celery 5.6 writes date_done (`datetime.isoformat()`, microseconds, +00:00); 5.2 reads it too. */
function pythonIsoTime(date: Date): string {
  return `${date.toISOString().slice(0, -1)}000+00:00`;
}

/** A stored meta, parsed; undefined for nothing stored. */
export function decodeResult(json: string | null | undefined): TaskMeta | undefined {
  if (json === null || json === undefined) return undefined;
  return JSON.parse(json) as TaskMeta;
}
