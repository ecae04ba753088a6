// Sends task messages to any queue, by its full SQS name: the producer's, and those a finished
// task's canvas sends next. Each queue's URL and size limit are asked of SQS once.
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Outgoing } from './canvas.ts';
import { encodeMessage, SQS_MAX_BODY_BYTES } from './codec.ts';
import { isFifo } from './naming.ts';
import { resolveQueueUrl } from './sqs.ts';

/** A message encoded for its queue, ready to send. */
export interface Prepared {
  queue: string;
  url: string;
  id: string;
  body: string;
  group?: string;
}

interface Target {
  url: string;
  maxBytes: number;
}

export class TaskSender {
  readonly #sqs: SQSClient;
  readonly #targets = new Map<string, Promise<Target>>();

  constructor(sqs: SQSClient) {
    this.#sqs = sqs;
  }

  /** Finds the queue and encodes the message for its size limit. */
  async prepare({ queue, message, group }: Outgoing): Promise<Prepared> {
    const target = await this.#target(queue);
    const id = message.id ?? randomUUID();
    const body = encodeMessage({ ...message, id, queue, maxBytes: target.maxBytes });
    // A FIFO queue needs a group: the task's name unless the message names one.
    const fifoGroup = group ?? (isFifo(queue) ? message.task : undefined);
    return { queue, url: target.url, id, body, ...(fifoGroup !== undefined ? { group: fifoGroup } : {}) };
  }

  async send({ queue, url, id, body, group }: Prepared): Promise<string> {
    const output = await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
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
