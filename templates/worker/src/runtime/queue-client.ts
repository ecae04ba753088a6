// Everything the worker does to one queue's messages besides receiving them: delete (batched),
// send a delayed copy, hide, and dead-letter with the reason.
import {
  ChangeMessageVisibilityCommand,
  type Message,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SQS_MAX_BODY_BYTES } from './codec.ts';
import { BatchDeleter } from './deleter.ts';
import type { ResolvedQueue } from './queues.ts';

/**
 * Retry copies carry the body as first sent, so the dead-letter queue gets it byte for byte —
 * and a redrive from there starts the task afresh, with its retries at their first value.
 */
export const ORIGINAL_BODY_ATTRIBUTE = 'original_body';

/** SQS's longest per-message delay, and its longest visibility timeout. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_SECONDS = 43_200;

/** Why a message was dead-lettered; sent as message attributes next to the unchanged body. */
export interface DeadLetterReason {
  error: Error;
  task?: string;
  taskId?: string;
  retries?: number;
}

export class QueueClient {
  readonly queue: ResolvedQueue;
  readonly #sqs: SQSClient;
  readonly #deleter: BatchDeleter;

  constructor(sqs: SQSClient, queue: ResolvedQueue) {
    this.#sqs = sqs;
    this.queue = queue;
    this.#deleter = new BatchDeleter(sqs, queue.url);
  }

  delete(message: Message): Promise<void> {
    return this.#deleter.delete(message.ReceiptHandle ?? '');
  }

  flush(): Promise<void> {
    return this.#deleter.flush();
  }

  /**
   * Sends `body`, a new version of `message`, to this queue, hidden for up to 15 minutes (SQS's
   * limit; a later eta hops: the worker that receives it early sends it on again). FIFO queues
   * cannot delay one message: there the copy is visible at once and hidden on receipt instead.
   */
  async sendDelayed(message: Message, body: string, delaySeconds: number): Promise<void> {
    const original = originalBody(message);
    // Keep the original only while body and original fit in one SQS message together.
    const keep = original !== body && Buffer.byteLength(body) + Buffer.byteLength(original) + 64 <= SQS_MAX_BODY_BYTES;
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queue.url,
        MessageBody: body,
        ...(keep ? { MessageAttributes: { [ORIGINAL_BODY_ATTRIBUTE]: text(original) } } : {}),
        ...(this.queue.fifo
          ? {
              MessageGroupId: message.Attributes?.MessageGroupId ?? this.queue.task,
              MessageDeduplicationId: crypto.randomUUID(),
            }
          : { DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds))) }),
      }),
    );
  }

  /** Keeps a received message hidden for `seconds` more (at most 12 hours). */
  async hide(message: Message, seconds: number): Promise<void> {
    await this.#sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queue.url,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds))),
      }),
    );
  }

  /** Sends the body as first sent, unchanged, to `err-<queue>` with why it failed. */
  async deadLetter(message: Message, reason: DeadLetterReason): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      error_type: text(reason.error.name),
      error_message: text(reason.error.message.slice(0, 1024)),
      task: text(reason.task ?? this.queue.task),
      source_queue: text(this.queue.fullName),
      receive_count: number(Number(message.Attributes?.ApproximateReceiveCount ?? 1)),
      dead_lettered_at: text(new Date().toISOString()),
      ...(reason.taskId ? { task_id: text(reason.taskId) } : {}),
      ...(reason.retries !== undefined ? { retries: number(reason.retries) } : {}),
    };
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queue.deadLetterUrl,
        MessageBody: originalBody(message),
        MessageAttributes: attributes,
        ...(this.queue.fifo
          ? {
              MessageGroupId: message.Attributes?.MessageGroupId ?? this.queue.task,
              MessageDeduplicationId: message.MessageId ?? crypto.randomUUID(),
            }
          : {}),
      }),
    );
  }
}

function originalBody(message: Message): string {
  return message.MessageAttributes?.[ORIGINAL_BODY_ATTRIBUTE]?.StringValue ?? message.Body ?? '';
}

// SQS refuses empty attribute values.
const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value || '-' });
const number = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });
