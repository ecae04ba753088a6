// Sends tasks in Celery's wire format, so TypeScript and Python workers both run them.
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { z } from 'zod';
import { encodeMessage } from './codec.ts';
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

export class Producer {
  #urls = new Map<string, Promise<string>>();
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
    const body = encodeMessage({
      task: task.name,
      args: args as unknown[],
      queue,
      id,
      eta,
      expires: options.expires ?? null,
      headers: { ...this.options.headers?.({ task: task.name, queue, id }), ...options.headers },
    });
    const output = await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: await this.#url(queue),
        MessageBody: body,
        ...(isFifo(queue) ? { MessageGroupId: task.name, MessageDeduplicationId: id } : {}),
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

  #url(queue: string): Promise<string> {
    let url = this.#urls.get(queue);
    if (!url) {
      url = resolveQueueUrl(this.sqs, queue);
      url.catch(() => this.#urls.delete(queue));
      this.#urls.set(queue, url);
    }
    return url;
  }
}
