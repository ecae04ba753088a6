// Everything the worker does to one queue's messages besides receiving and leasing them: delete
// (batched), send a delayed copy, and dead-letter with the reason.
import { type Message, type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { withoutOuterBase64 } from './codec.ts';
import { BatchDeleter } from './deleter.ts';
import { PayloadTooLargeError } from './errors.ts';
import type { ResolvedQueue } from './queues.ts';
import { wholeSeconds } from './timing.ts';

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

type Attributes = Record<string, MessageAttributeValue>;

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
   * Sends `body`, a new version of `message`, to this standard queue, hidden for up to 15 minutes
   * (SQS's limit; a later eta hops: the worker that receives it early hides it again). FIFO queues
   * never get a copy: it would go to the end of its group (retries there stay in place).
   */
  async sendDelayed(message: Message, body: string, delaySeconds: number): Promise<void> {
    const original = originalBody(message);
    const withOriginal = { [ORIGINAL_BODY_ATTRIBUTE]: text(original) };
    // Keep the original only while body and original fit in one SQS message together.
    const keep = original !== body && messageBytes(body, withOriginal) <= this.queue.maxMessageBytes;
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queue.url,
        MessageBody: body,
        ...(keep ? { MessageAttributes: withOriginal } : {}),
        // A fair queue's tenant stays the message's tenant.
        ...(message.Attributes?.MessageGroupId ? { MessageGroupId: message.Attributes.MessageGroupId } : {}),
        DelaySeconds: wholeSeconds(delaySeconds, MAX_DELAY_SECONDS),
      }),
    );
  }

  /**
   * Sends the body as first sent to `err-<queue>` with why it failed. The reason always goes with it:
   * SQS counts attributes in the size limit, so near the limit the error message is shortened, and
   * then the body loses its outer base64 layer (a quarter of its size; kombu and this worker read
   * both forms).
   */
  async deadLetter(message: Message, reason: DeadLetterReason): Promise<void> {
    const limit = this.queue.deadLetterMaxMessageBytes;
    let body = originalBody(message);
    let room = limit - messageBytes(body, this.#reasonAttributes(message, reason, ''));
    if (room < MIN_ERROR_MESSAGE_BYTES) {
      body = withoutOuterBase64(body);
      room = limit - messageBytes(body, this.#reasonAttributes(message, reason, ''));
    }
    if (room < 0) {
      throw new PayloadTooLargeError(
        `the message is ${Buffer.byteLength(body)} bytes, too close to ${this.queue.deadLetterName}'s limit of ${limit} to carry its reason`,
      );
    }
    const errorMessage = truncateBytes(reason.error.message, Math.min(MAX_ERROR_MESSAGE_BYTES, room));
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queue.deadLetterUrl,
        MessageBody: body,
        MessageAttributes: this.#reasonAttributes(message, reason, errorMessage),
        ...(this.queue.fifo
          ? {
              MessageGroupId: message.Attributes?.MessageGroupId ?? this.queue.task,
              MessageDeduplicationId: message.MessageId ?? crypto.randomUUID(),
            }
          : {}),
      }),
    );
  }

  #reasonAttributes(message: Message, reason: DeadLetterReason, errorMessage: string): Attributes {
    return {
      error_type: text(reason.error.name),
      error_message: text(errorMessage),
      task: text(reason.task ?? this.queue.task),
      source_queue: text(this.queue.fullName),
      receive_count: number(Number(message.Attributes?.ApproximateReceiveCount ?? 1)),
      dead_lettered_at: text(new Date().toISOString()),
      ...(reason.taskId ? { task_id: text(reason.taskId) } : {}),
      ...(reason.retries !== undefined ? { retries: number(reason.retries) } : {}),
    };
  }
}

const MAX_ERROR_MESSAGE_BYTES = 1024;
const MIN_ERROR_MESSAGE_BYTES = 128;

function originalBody(message: Message): string {
  return message.MessageAttributes?.[ORIGINAL_BODY_ATTRIBUTE]?.StringValue ?? message.Body ?? '';
}

/** A message's size as SQS counts it against MaximumMessageSize: the body, and each attribute's name, type and value. */
function messageBytes(body: string, attributes: Attributes): number {
  let bytes = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    bytes +=
      Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** At most `max` bytes of UTF-8, never ending in half a character. */
function truncateBytes(value: string, max: number): string {
  if (Buffer.byteLength(value) <= max) return value;
  return Buffer.from(value)
    .subarray(0, max)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

// SQS refuses empty attribute values.
const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value || '-' });
const number = (value: number): MessageAttributeValue => ({ DataType: 'Number', StringValue: String(value) });
