// Sends task messages to any queue, by its full SQS name: the producer's, and those a finished
// task's canvas sends next. Each queue's URL and size limit are asked of SQS once. With a payload
// store (integration large-payloads), a body past its threshold goes to S3 first, and the message
// carries the pointer: the object exists before the message does.
import { randomUUID } from 'node:crypto';
import {
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Outgoing } from './canvas.ts';
import { encodeMessage, SQS_MAX_BODY_BYTES } from './codec.ts';
import { isFifo } from './naming.ts';
import { pointerMessage } from './payload-pointer.ts';
import { exceeds, type PayloadStore } from './payload-store.ts';
import { resolveQueueUrl } from './sqs.ts';

/** A message encoded for its queue, ready to send. */
export interface Prepared {
  queue: string;
  url: string;
  id: string;
  body: string;
  group?: string;
  /** A pointer message's size attribute. */
  attributes?: Record<string, MessageAttributeValue>;
}

interface Target {
  url: string;
  maxBytes: number;
}

export class TaskSender {
  readonly #sqs: SQSClient;
  readonly #targets = new Map<string, Promise<Target>>();
  readonly #payloads: PayloadStore | undefined;

  constructor(sqs: SQSClient, payloads?: PayloadStore) {
    this.#sqs = sqs;
    this.#payloads = payloads;
  }

  /** Finds the queue and encodes the message for its size limit. */
  async prepare({ queue, message, group }: Outgoing): Promise<Prepared> {
    const target = await this.#target(queue);
    const id = message.id ?? randomUUID();
    const payloads = this.#payloads;
    const encoded = encodeMessage({ ...message, id, queue, maxBytes: payloads?.maxReadBytes ?? target.maxBytes });
    // A FIFO queue needs a group: the task's name unless the message names one.
    const fifoGroup = group ?? (isFifo(queue) ? message.task : undefined);
    const prepared = { queue, url: target.url, id, ...(fifoGroup !== undefined ? { group: fifoGroup } : {}) };
    if (!payloads || !exceeds(encoded, payloads.thresholdBytes(target.maxBytes))) return { ...prepared, body: encoded };
    const { body, attributes } = pointerMessage(await payloads.put(encoded));
    return { ...prepared, body, attributes };
  }

  async send({ queue, url, id, body, group, attributes }: Prepared): Promise<string> {
    const output = await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        ...(attributes ? { MessageAttributes: attributes } : {}),
        ...(group !== undefined ? { MessageGroupId: group } : {}),
        ...(isFifo(queue) ? { MessageDeduplicationId: id } : {}),
      }),
    );
    return output.MessageId ?? '';
  }

  /** Prepares them all before sending any: one that cannot go stops the others from going alone. */
  async sendAll(outgoing: readonly Outgoing[]): Promise<void> {
    const prepared = await Promise.all(outgoing.map((message) => this.prepare(message)));
    for (const message of prepared) await this.send(message);
  }

  #target(queue: string): Promise<Target> {
    let target = this.#targets.get(queue);
    if (!target) {
      target = (async () => {
        const url = await resolveQueueUrl(this.#sqs, queue);
        const { Attributes = {} } = await this.#sqs.send(
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
