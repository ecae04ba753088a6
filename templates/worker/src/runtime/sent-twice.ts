// A send SQS did whose answer was lost is sent again by the AWS SDK, and a standard queue then holds
// two copies of one message: a task's retry, or the next step of its chain. Both carry the same task
// id and retries, and were sent within the SDK's tries of one call, but SQS gave each its own message
// id. The process that ran one copy remembers it, and knows the other for what it is. Another
// process (of a pool, or a replica) does not: there the second copy runs again.
import type { Message } from '@aws-sdk/client-sqs';
import type { CeleryMessage } from './codec.ts';

/** How far apart the copies of one send are sent at most: the SDK's 3 tries, each with its deadline. */
const SAME_SEND_MS = 60_000;
/** How many messages run are remembered. */
const REMEMBERED = 10_000;

export class HandledMessages {
  /** `<task id> <retries>` → the SQS message that ran it here, and when it was sent. */
  readonly #ran = new Map<string, { messageId: string; sentAt: number }>();

  /** Its task runs here (from its start: the other copy may be in the same receive). */
  remember(message: Message, celery: CeleryMessage): void {
    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (!(sentAt > 0) || !message.MessageId) return;
    const key = keyOf(celery);
    this.#ran.delete(key);
    this.#ran.set(key, { messageId: message.MessageId, sentAt });
    if (this.#ran.size > REMEMBERED) this.#ran.delete(this.#ran.keys().next().value as string);
  }

  /**
   * Another copy of a message run here: another SQS message with the same task id and retries, sent
   * within a minute of it. The same SQS message delivered again (a lost lease, a stop) is not one,
   * nor one redriven from the dead-letter queue (its reason attributes say so): those are meant to run.
   */
  isCopy(message: Message, celery: CeleryMessage): boolean {
    const ran = this.#ran.get(keyOf(celery));
    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (!ran || ran.messageId === message.MessageId || !(sentAt > 0)) return false;
    if (message.MessageAttributes?.error_type) return false;
    return Math.abs(sentAt - ran.sentAt) <= SAME_SEND_MS;
  }
}

const keyOf = (celery: CeleryMessage) => `${celery.id} ${celery.retries}`;
