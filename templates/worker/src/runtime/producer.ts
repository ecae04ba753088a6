// Sends tasks in Celery's wire format, so TypeScript and Python workers both run them.
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import { encodeMessage, SQS_MAX_BODY_BYTES } from './codec.ts';
import { fullQueueName, isFifo, type NamingContext } from './naming.ts';
import type { QueueBinding } from './queues.ts';
import { resolveQueueUrl } from './sqs.ts';
import { type ArgsSchema, parseArguments, type TaskDefinition } from './task.ts';

export interface SendOptions {
  /** Run no earlier than this many seconds from now (Celery's `countdown`). */
  countdown?: number;
  /** Run no earlier than this time (Celery's `eta`). */
  eta?: Date;
  /** Drop the task if it has not started by then (Celery's `expires`). */
  expires?: Date;
  /** The task id; a new UUID by default. */
  id?: string;
  /** The short queue name, when the task runs from more than one queue. */
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

export interface SentTask {
  id: string;
  queue: string;
  messageId: string;
}

export interface ProducerOptions {
  /** Headers for each message (tracing's traceparent), from its task, SQS queue and id. */
  headers?(message: { task: string; queue: string; id: string }): Record<string, unknown>;
}

/** A queue as the producer needs it: where it is and the largest message it takes. */
interface Target {
  url: string;
  maxBytes: number;
}

export class Producer {
  #targets = new Map<string, Promise<Target>>();
  private readonly sqs: SQSClient;
  private readonly queues: readonly QueueBinding[];
  private readonly naming: NamingContext;
  private readonly options: ProducerOptions;

  constructor(sqs: SQSClient, queues: readonly QueueBinding[], naming: NamingContext, options: ProducerOptions = {}) {
    this.sqs = sqs;
    this.queues = queues;
    this.naming = naming;
    this.options = options;
  }

  /** Checks the arguments against the task's schema (unless `unchecked`), then sends it to its queue. */
  async send<Args extends ArgsSchema>(
    task: TaskDefinition<Args>,
    args: z.input<Args>,
    options: SendOptions = {},
  ): Promise<SentTask> {
    if (!options.unchecked) parseArguments(task, args as unknown[], {});
    const binding = this.#queueOf(task.name, options.queue);
    const queue = fullQueueName(binding.queue, this.naming);
    const id = options.id ?? crypto.randomUUID();
    const eta = options.eta ?? (options.countdown ? new Date(Date.now() + options.countdown * 1000) : null);
    const target = await this.#target(queue);
    const body = encodeMessage({
      task: task.name,
      args: args as unknown[],
      queue,
      id,
      eta,
      expires: options.expires ?? null,
      headers: { ...this.options.headers?.({ task: task.name, queue, id }), ...options.headers },
      maxBytes: target.maxBytes,
    });
    const group = options.group ?? (isFifo(queue) ? task.name : undefined);
    const output = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: target.url,
        MessageBody: body,
        ...(group !== undefined ? { MessageGroupId: group } : {}),
        ...(isFifo(queue) ? { MessageDeduplicationId: id } : {}),
      }),
    );
    return { id, queue, messageId: output.MessageId ?? '' };
  }

  #queueOf(task: string, queue: string | undefined): QueueBinding {
    const candidates = this.queues.filter((binding) => binding.task === task && (!queue || binding.queue === queue));
    const binding = candidates[0];
    if (!binding) {
      throw new Error(`no queue in src/config/queues.ts runs task "${task}"${queue ? ` as "${queue}"` : ''}`);
    }
    if (candidates.length > 1) {
      throw new Error(
        `task "${task}" runs from several queues (${candidates.map((c) => c.queue).join(', ')}); pass { queue }`,
      );
    }
    return binding;
  }

  /** The queue's URL and size limit, asked of SQS once per queue. */
  #target(queue: string): Promise<Target> {
    let target = this.#targets.get(queue);
    if (!target) {
      target = (async () => {
        const url = await resolveQueueUrl(this.sqs, queue);
        const { Attributes = {} } = await this.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['MaximumMessageSize'] }),
        );
        return { url, maxBytes: Number(Attributes.MaximumMessageSize ?? SQS_MAX_BODY_BYTES) };
      })();
      target.catch(() => this.#targets.delete(queue));
      this.#targets.set(queue, target);
    }
    return target;
  }
}
