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

/** Celery's encoding of an exception as a result: {exc_type, exc_message: [...], exc_module}. */
export function encodeFailure(error: Error): EncodedFailure {
  return { exc_type: error.name || 'Error', exc_message: [error.message], exc_module: 'builtins' };
}
