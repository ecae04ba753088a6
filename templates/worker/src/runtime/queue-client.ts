// Everything the worker does to one queue's messages besides receiving and leasing them: delete
// (batched), send a delayed copy, and dead-letter with the reason. With large payloads, a message
// may be a pointer to its body in S3 (payload-pointer.ts): a copy or a dead letter of it carries the
// pointer on, never the body again, and an object is deleted once no message points at it.
import { type Message, type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { withoutOuterBase64 } from './codec.ts';
import { BatchDeleter } from './deleter.ts';
import { PayloadTooLargeError } from './errors.ts';
import {
  isPointerMessage,
  type PayloadPointer,
  pointerMessage,
  readPointer,
  SIZE_ATTRIBUTE,
} from './payload-pointer.ts';
import { exceeds, type PayloadStore } from './payload-store.ts';
import type { ResolvedQueue } from './queues.ts';
import { wholeSeconds } from './timing.ts';

/**
 * Retry copies carry the body as first sent, so the dead-letter queue gets it byte for byte —
 * and a redrive from there starts the task afresh, with its retries at their first value.
 */
export const ORIGINAL_BODY_ATTRIBUTE = 'original_body';
/** When the body as first sent was a pointer: its stored body's size (the dead letter's size attribute). */
export const ORIGINAL_PAYLOAD_SIZE_ATTRIBUTE = 'original_payload_size';

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
  /** Where bodies past the threshold go (integration large-payloads), if anywhere. */
  readonly payloads: PayloadStore | undefined;

  constructor(sqs: SQSClient, queue: ResolvedQueue, payloads?: PayloadStore) {
    this.#sqs = sqs;
    this.queue = queue;
    this.#deleter = new BatchDeleter(sqs, queue.url);
    this.payloads = payloads;
  }

  /** The longest Celery body this queue's tasks may have: with large payloads, what the store reads back. */
  get maxBodyBytes(): number {
    return this.payloads?.maxReadBytes ?? this.queue.maxMessageBytes;
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
    const original = originalOf(message);
    const sending = await this.#outgoing(message, body);
    const withOriginal: Attributes = {
      [ORIGINAL_BODY_ATTRIBUTE]: text(original.body),
      ...(original.size !== undefined ? { [ORIGINAL_PAYLOAD_SIZE_ATTRIBUTE]: number(original.size) } : {}),
    };
    // Keep the original only while body and original fit in one SQS message together.
    const keep =
      original.body !== sending.body &&
      messageBytes(sending.body, { ...sending.attributes, ...withOriginal }) <= this.queue.maxMessageBytes;
    const attributes = { ...sending.attributes, ...(keep ? withOriginal : {}) };
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queue.url,
        MessageBody: sending.body,
        ...(Object.keys(attributes).length > 0 ? { MessageAttributes: attributes } : {}),
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
    const original = originalOf(message);
    let body = original.body;
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

  /**
   * After the message is deleted: deletes the stored bodies no message points at any more — when it
   * is `done`, its own and its original; when a copy or a dead letter `replaced` it (carrying the
   * original on), its own unless that is the original. Unless LARGE_PAYLOAD_KEEP.
   */
  async dropStoredBodies(message: Message, outcome: 'done' | 'replaced'): Promise<PayloadPointer[]> {
    if (!this.payloads || this.payloads.keep) return [];
    const own = safely(() => readPointer(message));
    const size = message.MessageAttributes?.[ORIGINAL_PAYLOAD_SIZE_ATTRIBUTE]?.StringValue;
    const first = message.MessageAttributes?.[ORIGINAL_BODY_ATTRIBUTE]?.StringValue;
    const original =
      size !== undefined && first !== undefined
        ? safely(() => readPointer({ Body: first, MessageAttributes: { [SIZE_ATTRIBUTE]: number(Number(size)) } }))
        : undefined;
    const same = own && original && own.bucket === original.bucket && own.key === original.key;
    const drop = outcome === 'done' ? [own, same ? undefined : original] : original && !same ? [own] : [];
    const dropped = drop.filter((pointer): pointer is PayloadPointer => pointer !== undefined);
    const store = this.payloads;
    await Promise.all(dropped.map((pointer) => store.delete(pointer)));
    return dropped;
  }

  /** The body to send for `body`: the message's own pointer when it is sent again unchanged, a new pointer when it is past the threshold. */
  async #outgoing(message: Message, body: string): Promise<{ body: string; attributes: Attributes }> {
    if (body === message.Body && isPointerMessage(message)) {
      const pointer = readPointer(message);
      if (pointer) return pointerMessage(pointer);
    }
    if (!this.payloads || !exceeds(body, this.payloads.thresholdBytes(this.queue.maxMessageBytes))) {
      return { body, attributes: {} };
    }
    return pointerMessage(await this.payloads.put(body));
  }

  #reasonAttributes(message: Message, reason: DeadLetterReason, errorMessage: string): Attributes {
    const { size } = originalOf(message);
    return {
      // A pointer stays a pointer: the extended clients and `dlq` read it by this attribute.
      ...(size !== undefined ? { [SIZE_ATTRIBUTE]: number(size) } : {}),
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

/** The body as first sent, and when it is a pointer, its stored body's size. */
function originalOf(message: Message): { body: string; size?: number } {
  const attributes = message.MessageAttributes;
  const kept = attributes?.[ORIGINAL_BODY_ATTRIBUTE]?.StringValue;
  if (kept !== undefined) {
    const size = attributes?.[ORIGINAL_PAYLOAD_SIZE_ATTRIBUTE]?.StringValue;
    return { body: kept, ...(size !== undefined ? { size: Number(size) } : {}) };
  }
  const pointer = safely(() => readPointer(message));
  return { body: message.Body ?? '', ...(pointer ? { size: pointer.size } : {}) };
}

function safely<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
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
