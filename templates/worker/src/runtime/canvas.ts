// Celery's canvas, decided as its worker does it (celery/app/trace.py, celery/canvas.py), without
// sending anything (sender.ts does):
// - a task succeeded: each link (`callbacks`) is sent with the result prepended to its arguments,
//   then the next step of its chain — the last of `chain`, which protocol 2 keeps reversed — with
//   the rest of the chain; parent_id is the task's id, root_id its root's;
// - a task failed for good: each link_error (`errbacks`) is sent with the failed task's id.
// An immutable signature keeps its own arguments. A signature goes to its `queue` option (an SQS
// queue name, as Celery's kombu uses it), else to the queue its task routes to.
import { randomUUID } from 'node:crypto';
import type { CeleryEmbed, CeleryMessage, EncodeOptions } from './codec.ts';
import { CanvasError } from './errors.ts';
import { fullQueueName, type NamingContext } from './naming.ts';
import type { QueueBinding } from './queues.ts';

/** A signature as Celery serializes it (`celery.canvas.Signature` is a dict). */
export interface Signature {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
}

/** The fields of a task message, without the queue it goes to. */
export type MessageFields = Omit<EncodeOptions, 'queue' | 'maxBytes'>;

/** A task message to send, and the full name of the SQS queue it is routed to. */
export interface Outgoing {
  queue: string;
  message: MessageFields;
  /** SQS's MessageGroupId, for a FIFO or fair queue (kombu's `MessageGroupId` option). */
  group?: string;
}

/**
 * Where tasks run: task name (or a glob such as `images.*`) → full SQS queue name, first match
 * wins. This worker's own tasks come first, then the fleet's `task_routes` (src/config/routes.ts).
 */
export type Routes = ReadonlyArray<readonly [pattern: string, queue: string]>;

/** The fleet's task_routes, as src/config/routes.ts writes them: task → short queue name. */
export type TaskRoutes = Readonly<Record<string, string>>;

export function buildRoutes(own: readonly QueueBinding[], fleet: TaskRoutes, naming: NamingContext): Routes {
  return [
    ...own.map(({ task, queue }) => [task, fullQueueName(queue, naming)] as const),
    ...Object.entries(fleet).map(([pattern, queue]) => [pattern, fullQueueName(queue, naming)] as const),
  ];
}

/** The SQS queue a signature goes to, or undefined when nothing routes it. */
export function routeOf(signature: Signature, routes: Routes): string | undefined {
  const queue = signature.options.queue;
  if (typeof queue === 'string' && queue !== '') return queue;
  return routes.find(([pattern]) => matches(pattern, signature.task))?.[1];
}

function matches(pattern: string, task: string): boolean {
  if (!pattern.includes('*')) return pattern === task;
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(task);
}

/** Reads a serialized signature, or says what is wrong with it. */
export function asSignature(value: unknown, where: string): Signature {
  if (!isObject(value) || typeof value.task !== 'string' || value.task === '') {
    throw new CanvasError(`${where} is not a Celery signature (an object with a task name)`);
  }
  const { args = [], kwargs = {}, options = {} } = value;
  if (!Array.isArray(args) || !isObject(kwargs) || !isObject(options)) {
    throw new CanvasError(`${where} (${value.task}) has args, kwargs or options of the wrong type`);
  }
  const type = typeof value.subtask_type === 'string' ? value.subtask_type : null;
  return { task: value.task, args, kwargs, options, subtask_type: type, immutable: value.immutable === true };
}

/** Celery's `maybe_list`: a list, one item, or nothing. */
export function asList(value: unknown): unknown[] {
  if (value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** What this worker can carry out besides single tasks. */
export interface CanvasSupport {
  /** A result backend with a chord counter is on (the `results` integration). */
  chords?: boolean;
}

/**
 * Why this worker cannot carry out the message's canvas, found before its task runs (nothing runs
 * whose result could not go on); undefined when it can. The chain's later steps are the business
 * of the workers that run the steps before them.
 */
export function canvasProblem(
  embed: CeleryEmbed,
  routes: Routes,
  { chords = false }: CanvasSupport = {},
): string | undefined {
  const inChord = embed.chord !== null && embed.chord !== undefined;
  if (inChord && !chords) {
    return 'it is part of a chord: a chord needs a result backend, which this fleet does not use';
  }
  try {
    const chain = asList(embed.chain);
    const body = inChord ? asSignature(embed.chord, "the chord's body") : undefined;
    const pending = [
      // The worker that completes the chord sends its body, or its link_errors if a part failed.
      ...(body
        ? [
            body,
            ...asList(body.options.link_error).map((value, i) =>
              asSignature(value, `the chord body's link_error ${i + 1}`),
            ),
          ]
        : []),
      ...asList(embed.callbacks).map((value, i) => asSignature(value, `link ${i + 1}`)),
      ...asList(embed.errbacks).map((value, i) => asSignature(value, `link_error ${i + 1}`)),
      ...(chain.length > 0 ? [asSignature(chain.at(-1), "the chain's next step")] : []),
    ];
    for (const signature of pending) {
      const problem = signatureProblem(signature, routes, chords);
      if (problem) return problem;
    }
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
}

function signatureProblem(signature: Signature, routes: Routes, chords: boolean): string | undefined {
  if (signature.subtask_type !== null) {
    const why = chords ? '' : '; groups and chords need a result backend, which this fleet does not use';
    return `it links a ${signature.subtask_type} (${signature.task}): this worker sends single tasks only${why}`;
  }
  if (routeOf(signature, routes) === undefined) {
    return `nothing routes task "${signature.task}", which it would send next: add it to src/config/routes.ts (the fleet's task_routes)`;
  }
  messageOf(signature, {}); // its times must read
  return undefined;
}

/** What Celery's worker sends once the task returned `result`: its links, then its chain's next step. */
export function afterSuccess(celery: CeleryMessage, result: unknown, routes: Routes, now = Date.now()): Outgoing[] {
  const call = { args: [result], parentId: celery.id, rootId: rootOf(celery) };
  const links = asList(celery.embed.callbacks).map((value) => asSignature(value, 'a link'));
  // More than one link goes out as a group, as Celery sends them.
  const group = links.length > 1 ? randomUUID() : null;
  const outgoing = links.map((signature) => route(signature, { ...call, group }, routes, now));
  const chain = asList(celery.embed.chain);
  if (chain.length > 0) {
    const next = asSignature(chain.at(-1), "the chain's next step");
    outgoing.push(route(next, { ...call, chain: chain.slice(0, -1) }, routes, now));
  }
  return outgoing;
}

/** What Celery's worker sends once the task failed for good: each link_error, given the task's id. */
export function errbacksOf(celery: CeleryMessage, routes: Routes, now = Date.now()): Outgoing[] {
  const errbacks = asList(celery.embed.errbacks).map((value) => asSignature(value, 'a link_error'));
  if (errbacks.length === 0) return [];
  const call = { args: [celery.id], parentId: celery.id, rootId: rootOf(celery), group: randomUUID() };
  return errbacks.map((signature) => route(signature, call, routes, now));
}

export function rootOf(celery: CeleryMessage): string {
  return typeof celery.headers.root_id === 'string' && celery.headers.root_id ? celery.headers.root_id : celery.id;
}

/** The message `signature.apply_async` sends with `call`, and the queue it goes to. */
export function route(signature: Signature, call: Call, routes: Routes, now = Date.now()): Outgoing {
  const queue = routeOf(signature, routes);
  if (queue === undefined) throw new CanvasError(`nothing routes task "${signature.task}"`);
  const group = text(signature.options.MessageGroupId);
  return { queue, message: messageOf(signature, call, now), ...(group ? { group } : {}) };
}

/** How `apply_async` is called on a signature: arguments to prepend, and options that win over its own. */
export interface Call {
  args?: unknown[];
  chain?: unknown[] | null;
  parentId?: string | null;
  rootId?: string | null;
  group?: string | null;
}

/** Celery's `Signature.apply_async(args, **options)` → `send_task`: the message it sends. */
export function messageOf(signature: Signature, call: Call, now = Date.now()): MessageFields {
  const options = signature.options;
  const link = asList(options.link);
  const linkError = asList(options.link_error);
  return {
    task: signature.task,
    args: signature.immutable ? signature.args : [...(call.args ?? []), ...signature.args],
    kwargs: signature.kwargs,
    id: text(options.task_id) ?? randomUUID(),
    retries: count(options.retries) ?? 0,
    // Celery ignores a countdown of 0.
    eta: timeOf(options.eta, now) ?? (options.countdown ? secondsFrom(options.countdown, now) : null),
    expires: timeOf(options.expires, now),
    rootId: call.rootId ?? text(options.root_id) ?? undefined,
    parentId: call.parentId ?? text(options.parent_id) ?? null,
    // A group id it has already stays: Celery never changes it.
    group: text(options.group_id) ?? call.group ?? null,
    groupIndex: count(options.group_index),
    timelimit: [seconds(options.time_limit), seconds(options.soft_time_limit)],
    shadow: text(options.shadow),
    ignoreResult: options.ignore_result === true,
    replyTo: text(options.reply_to),
    embed: {
      callbacks: link.length > 0 ? link : null,
      errbacks: linkError.length > 0 ? linkError : null,
      chain: call.chain && call.chain.length > 0 ? call.chain : null,
      chord: options.chord ?? null,
    },
  };
}

/** An option Celery sends as a time: seconds from now (a number) or ISO-8601 (naive is UTC). */
function timeOf(value: unknown, now: number): Date | null {
  if (typeof value === 'number') return secondsFrom(value, now);
  if (typeof value !== 'string' || value === '') return null;
  const date = new Date(/(Z|[+-]\d{2}:?\d{2})$/i.test(value) ? value : `${value}Z`);
  if (Number.isNaN(date.getTime())) throw new CanvasError(`"${value}" is not an ISO-8601 time`);
  return date;
}

function secondsFrom(value: unknown, now: number): Date | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  const date = new Date(now + value * 1000);
  if (Number.isNaN(date.getTime())) throw new CanvasError(`${value} s from now is past any time a message can carry`);
  return date;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const count = (value: unknown): number | null =>
  Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : null;
const seconds = (value: unknown): number | null => (typeof value === 'number' && value > 0 ? value : null);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
