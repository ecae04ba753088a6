// Celery's chord, as its Redis result backend carries it out (celery/backends/redis.py
// `on_chord_part_return`, celery/backends/base.py `chord_error_from_stack`): every header task that
// ends for good (success, or failure once its retries are used) adds its outcome to its chord's
// counter; the one that completes it sends the body with the header's results, in order, as its
// first argument. Should a member have failed, the body is not called: its link_errors are sent
// with its id and its result is stored as a ChordError — the worker that completes a chord does
// this, whichever language it speaks.
import { randomUUID } from 'node:crypto';
import { asList, asSignature, messageOf, type Routes, rootOf, route, type Signature } from './canvas.ts';
import { type CeleryMessage, decodeMessage, encodeMessage } from './codec.ts';
import type { Logger } from './logger.ts';
import type { ChordReady, Outcome, ResultBackend, TaskFailedError } from './result-backend.ts';
import type { TaskSender } from './sender.ts';
import { isSqsFault } from './sqs.ts';

/** Celery's `celery.exceptions.ChordError`: the result a failed chord's body is given. */
export class ChordError extends Error {
  override name = 'ChordError';
  /** The `exc_module` its result names (encodeFailure), so that Python raises Celery's own ChordError. */
  readonly celeryModule = 'celery.exceptions';
}

/** Whether the message is a header task of a chord: its embed names the body, its header the group. */
export function isChordPart(celery: CeleryMessage): boolean {
  return celery.embed.chord !== null && celery.embed.chord !== undefined && Boolean(celery.headers.group);
}

export interface ChordContext {
  results: ResultBackend;
  routes: Routes;
  sender: TaskSender;
  log: Logger;
}

/**
 * A header task of a chord ended for good: its outcome goes to the chord's counter, and when it was
 * the last, the body is sent (or failed, as Celery fails it). Throws when the counter or SQS cannot
 * be reached: the message is then left to be delivered again, and the counter takes its part once.
 */
export async function chordPartReturned(celery: CeleryMessage, outcome: Outcome, context: ChordContext): Promise<void> {
  const { results, log } = context;
  if (!isChordPart(celery) || !results.chordPartReturn) return;
  const ready = await results.chordPartReturn(celery, outcome);
  if (!ready) return;
  const body = asSignature(celery.embed.chord, "the chord's body");
  await finishChord(celery, body, ready, context);
  // Only now: a crash before this point completes the chord again when the message comes back.
  await results.chordDone?.(celery);
  log.info({ chord: celery.headers.group, body: body.task }, 'the last part of its chord: the body is settled');
}

async function finishChord(celery: CeleryMessage, body: Signature, ready: ChordReady, context: ChordContext) {
  const { routes, sender, log } = context;
  // As the last header task's worker calls `callback.delay(results)`: its child, in its tree.
  const call = { parentId: celery.id, rootId: rootOf(celery) };
  if ('failed' in ready) {
    const { taskId, error } = ready.failed;
    return failBody(body, new ChordError(`Dependency ${taskId} raised ${pythonRepr(error)}`), context);
  }
  try {
    await sender.sendAll([route(body, { ...call, args: [ready.results] }, routes)]);
  } catch (error) {
    // SQS's passing fault: tried again when the message comes back. Anything else never goes.
    if (isSqsFault(error)) throw error;
    log.error({ err: error }, "the chord's body cannot be sent; it fails with a ChordError");
    return failBody(body, new ChordError(`Callback error: ${pythonRepr(error as Error)}`), context);
  }
}

/**
 * Celery's `chord_error_from_stack`: the body's link_errors are sent, each given the body's id (with
 * the body's id as parent and root, as its fake request has them), then the body's result is
 * stored as the failure.
 */
async function failBody(body: Signature, error: ChordError, { results, routes, sender }: ChordContext) {
  const fields = messageOf(body, {});
  const id = fields.id ?? randomUUID();
  const errbacks = asList(body.options.link_error).map((value) => asSignature(value, "the chord body's link_error"));
  const call = { args: [id], parentId: id, rootId: id, group: randomUUID() };
  let failure: Error = error;
  try {
    await sender.sendAll(errbacks.map((signature) => route(signature, call, routes)));
  } catch (sendError) {
    if (isSqsFault(sendError)) throw sendError;
    // Celery stores the errback's own error as the body's, then.
    failure = sendError as Error;
  }
  // The body as a request of its own, for the store (it reads its id, name and options).
  const request = decodeMessage(encodeMessage({ ...fields, id, queue: '', maxBytes: Number.MAX_SAFE_INTEGER }));
  await results.store(request, { state: 'FAILURE', error: failure });
}

/** Python's `repr()` of the exception, as Celery writes it into a ChordError: `ValueError('boom')`. */
export function pythonRepr(error: Error): string {
  // A failure read back from the backend has Celery's type and arguments (not instanceof: the
  // integration that read it may have its own copy of result-backend.ts).
  const { excType, excMessage } = error as Partial<TaskFailedError>;
  if (typeof excType === 'string' && Array.isArray(excMessage)) {
    return `${excType}(${excMessage.map(pythonValueRepr).join(', ')})`;
  }
  return `${error.name || 'Exception'}(${pythonValueRepr(error.message)})`;
}

function pythonValueRepr(value: unknown): string {
  if (typeof value === 'string') return pythonStringRepr(value);
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return JSON.stringify(value);
}

/** Python quotes with ' unless the text holds a ' and no ". */
function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replaceAll(quote, `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}
