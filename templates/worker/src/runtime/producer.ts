// Sends tasks in Celery's wire format, so TypeScript and Python workers both run them: one task
// (`send`, Celery's send_task), or a signature or a chain (`apply`, Celery's apply_async), with links
// (`link`, `linkError`) that whichever worker runs the task sends on, as Celery's own worker does.
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import { asList, buildRoutes, messageOf, type Routes, routeOf, type Signature, type TaskRoutes } from './canvas.ts';
import { isoTime } from './codec.ts';
import { fullQueueName, type NamingContext } from './naming.ts';
import type { PayloadStore } from './payload-store.ts';
import type { QueueBinding } from './queues.ts';
import { NoResultBackendError, type ResultBackend, resultValue } from './result-backend.ts';
import { TaskSender } from './sender.ts';
import { type ArgsSchema, parseArguments, type TaskDefinition } from './task.ts';

/** Celery's per-call options, for one task or one signature. */
export interface CallOptions {
  /** Keyword arguments, bound to the task's `argNames` by a TypeScript worker. */
  kwargs?: Record<string, unknown>;
  /** Run no earlier than this many seconds from now (Celery's `countdown`). */
  countdown?: number;
  /** Run no earlier than this time (Celery's `eta`). */
  eta?: Date;
  /** Drop the task if it has not started by then: a time, or seconds from now (Celery's `expires`). */
  expires?: Date | number;
  /** The task id; a new UUID by default. */
  id?: string;
  /** Sent with the result prepended to its arguments once the task succeeds (Celery's `link`). */
  link?: Signature | Signature[];
  /** Sent with the task's id once the task fails for good (Celery's `link_error`). */
  linkError?: Signature | Signature[];
  /** This run's soft time limit in seconds, instead of the task's (Celery's `soft_time_limit`). */
  softTimeLimit?: number;
  /** This run's hard time limit in seconds, instead of the task's (Celery's `time_limit`). */
  timeLimit?: number;
  /**
   * Store no result when it succeeds (Celery's `ignore_result`): its `get()` then never resolves;
   * a failure is still stored, and links still run.
   */
  ignoreResult?: boolean;
  /** The name logs show instead of the task's (Celery's `shadow`). */
  shadow?: string;
}

export interface SendOptions extends CallOptions {
  /** The short queue name: when the task runs from more than one queue, or to send it elsewhere. */
  queue?: string;
  /** Extra Celery headers (e.g. `traceparent`). */
  headers?: Record<string, unknown>;
  /**
   * SQS's message group. On a standard queue, the tenant of a fair queue: SQS keeps one busy tenant
   * from starving the others. On a FIFO queue, the group whose messages run one at a time, in order
   * (the task name by default).
   */
  group?: string;
  /**
   * Send without checking the arguments against the task's schema: the worker then dead-letters
   * what its schema refuses (how to test a dead-letter alert). The body must still encode.
   */
  unchecked?: boolean;
}

export interface SignatureOptions extends CallOptions {
  /** Keep its own arguments: the result of the step before is not prepended. */
  immutable?: boolean;
}

export type ApplyOptions = Pick<SendOptions, 'queue' | 'headers' | 'group' | 'link' | 'linkError'>;

export interface SentTask {
  id: string;
  queue: string;
  messageId: string;
}

export interface GetOptions {
  /** How long to wait for the result; 60 s by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A task sent, whose result `get()` reads from the result backend (the `results` integration). */
export interface TaskHandle extends SentTask {
  /**
   * Waits for the task's result, whichever worker runs it (Python's too, with the same
   * `result_backend`): its value, or throws TaskFailedError (Celery's exc_type and exc_message), or
   * ResultTimeoutError after `timeoutMs`.
   */
  get<T = unknown>(options?: GetOptions): Promise<T>;
}

/** How long `get()` waits when not told. */
export const DEFAULT_GET_TIMEOUT_MS = 60_000;

type MessageHeaders = Record<string, unknown>;

export interface ProducerOptions {
  /** Headers for each message (tracing's traceparent), from its task, SQS queue and id; awaited when a promise. */
  headers?(message: { task: string; queue: string; id: string }): MessageHeaders | Promise<MessageHeaders>;
  /** Where the fleet's other tasks run (src/config/routes.ts): task → short queue name. */
  routes?: TaskRoutes;
  /** The result backend that `get()` reads (the `results` integration); without one, `get()` throws. */
  results?: ResultBackend;
  /** Where bodies past the threshold go (integration large-payloads). */
  payloads?: PayloadStore;
}

/** A signature of a task (a name, or a task of this worker), as Celery's `task.s(…)` makes it. */
export function sig(task: TaskDefinition | string, args: unknown[] = [], options: SignatureOptions = {}): Signature {
  return {
    task: typeof task === 'string' ? task : task.name,
    args,
    kwargs: options.kwargs ?? {},
    options: celeryOptions(options),
    subtask_type: null,
    immutable: options.immutable ?? false,
  };
}

/** Steps that run one after another, each given the result of the one before (Celery's `chain`). */
export function chain(...steps: Signature[]): Signature {
  return {
    task: 'celery.chain',
    args: [],
    kwargs: { tasks: steps },
    options: {},
    subtask_type: 'chain',
    immutable: false,
  };
}

/** The options as Celery's signatures hold them. */
function celeryOptions(options: CallOptions): Record<string, unknown> {
  const { expires, eta, link, linkError } = options;
  const celery: Record<string, unknown> = {
    task_id: options.id,
    countdown: options.countdown,
    eta: eta ? isoTime(eta) : undefined,
    expires: expires instanceof Date ? isoTime(expires) : expires,
    soft_time_limit: options.softTimeLimit,
    time_limit: options.timeLimit,
    ignore_result: options.ignoreResult,
    shadow: options.shadow,
    link: link ? asList(link) : undefined,
    link_error: linkError ? asList(linkError) : undefined,
  };
  return Object.fromEntries(Object.entries(celery).filter(([, value]) => value !== undefined));
}

export class Producer {
  readonly #sender: TaskSender;
  readonly #routes: Routes;
  /** Celery's reply_to: one id per producer (its `thread_oid`). */
  readonly #replyTo = randomUUID();
  private readonly queues: readonly QueueBinding[];
  private readonly naming: NamingContext;
  private readonly options: ProducerOptions;

  constructor(sqs: SQSClient, queues: readonly QueueBinding[], naming: NamingContext, options: ProducerOptions = {}) {
    this.#sender = new TaskSender(sqs, options.payloads);
    this.#routes = buildRoutes(queues, options.routes ?? {}, naming);
    this.queues = queues;
    this.naming = naming;
    this.options = options;
  }

  /** Checks the arguments against the task's schema (unless `unchecked`), then sends it to its queue. */
  async send<Args extends ArgsSchema>(
    task: TaskDefinition<Args>,
    args: z.input<Args>,
    options?: SendOptions,
  ): Promise<TaskHandle>;
  /** Sends a task by its name: another worker's, routed by src/config/routes.ts. */
  async send(task: string, args?: unknown[], options?: SendOptions): Promise<TaskHandle>;
  async send(task: TaskDefinition | string, args: unknown[] = [], options: SendOptions = {}): Promise<TaskHandle> {
    if (typeof task !== 'string' && !options.unchecked) parseArguments(task, args, options.kwargs ?? {});
    const { queue, headers, group, unchecked: _unchecked, ...call } = options;
    return this.apply(sig(task, args, call), { queue, headers, group });
  }

  /**
   * Sends a signature as Celery's `apply_async` does; a chain's first step goes with the rest of the
   * chain. `linkError` goes with every step of a chain, `link` with its last. The handle's `id` is
   * the first step's; its `get()` waits for the last step's result, the chain's.
   */
  async apply(signature: Signature, options: ApplyOptions = {}): Promise<TaskHandle> {
    const steps = this.#freeze(stepsOf(signature), options);
    const [first, ...rest] = steps;
    if (!first) throw new Error('an empty chain has nothing to send');
    const queue = this.#queueOf(first, options.queue);
    const message = messageOf(first, { chain: rest.reverse() });
    const id = message.id ?? randomUUID();
    const headers = { ...(await this.options.headers?.({ task: first.task, queue, id })), ...options.headers };
    const prepared = await this.#sender.prepare({
      queue,
      message: { ...message, id, headers, replyTo: message.replyTo ?? this.#replyTo },
      ...(options.group !== undefined ? { group: options.group } : {}),
    });
    const messageId = await this.#sender.send(prepared);
    // A chain's result is its last step's, as Celery's apply_async returns it.
    const resultId = String(steps.at(-1)?.options.task_id ?? id);
    return { id, queue, messageId, get: (getOptions) => this.#get(resultId, getOptions) };
  }

  async #get<T>(taskId: string, { timeoutMs = DEFAULT_GET_TIMEOUT_MS, signal }: GetOptions = {}): Promise<T> {
    const { results } = this.options;
    if (!results) {
      throw new NoResultBackendError();
    }
    return resultValue(await results.waitFor(taskId, { timeoutMs, ...(signal ? { signal } : {}) })) as T;
  }

  /** As Celery's chain does before sending: every step gets its id, the link_errors and the link. */
  #freeze(steps: Signature[], { link, linkError }: ApplyOptions): Signature[] {
    const chained = steps.length > 1;
    return steps.map((step, index) => {
      const options = { ...step.options };
      if (chained) Object.assign(options, { task_id: options.task_id ?? randomUUID(), reply_to: this.#replyTo });
      if (linkError) options.link_error = [...asList(options.link_error), ...asList(linkError)];
      if (link && index === steps.length - 1) options.link = [...asList(options.link), ...asList(link)];
      return { ...step, options };
    });
  }

  /** The SQS queue of a task: `queue` if given, else its own binding or its route. */
  #queueOf(signature: Signature, queue: string | undefined): string {
    const own = this.queues.filter((binding) => binding.task === signature.task);
    if (queue !== undefined) {
      if (own.length > 0 && !own.some((binding) => binding.queue === queue)) {
        throw new Error(`no queue in src/config/queues.ts runs task "${signature.task}" as "${queue}"`);
      }
      return fullQueueName(queue, this.naming);
    }
    if (own.length > 1) {
      const names = own.map((binding) => binding.queue).join(', ');
      throw new Error(`task "${signature.task}" runs from several queues (${names}); pass { queue }`);
    }
    const routed = routeOf(signature, this.#routes);
    if (routed === undefined) {
      throw new Error(
        `no queue for task "${signature.task}": no queue in src/config/queues.ts runs it, and src/config/routes.ts does not route it`,
      );
    }
    return routed;
  }
}

/** A chain's steps, nested chains spliced in as Celery does; a single signature is one step. */
function stepsOf(signature: Signature): Signature[] {
  if (signature.subtask_type === 'chain') {
    const tasks = asList(signature.kwargs.tasks) as Signature[];
    return tasks.flatMap(stepsOf);
  }
  if (signature.subtask_type !== null) {
    throw new Error(
      `cannot send a ${signature.subtask_type}: groups and chords need a result backend, which this fleet does not use`,
    );
  }
  return [signature];
}
