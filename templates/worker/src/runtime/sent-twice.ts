// A send SQS did whose answer was lost is sent again by the AWS SDK, and a standard queue then holds
// two copies of one message: a task's retry, or the next step of its chain. Both carry the same task
// id, retries and eta (one body, sent twice), and were sent within the SDK's tries of one call, but
// SQS gave each its own message id. The process that ran one copy remembers it, and knows the other
// for what it is: a copy sent before that run began. One sent after it is a new send, meant to run
// (a dead letter redriven, a message sent again by hand). Another process (of a pool, or a replica)
// remembers nothing: there the second copy runs again.
import type { Message } from '@aws-sdk/client-sqs';
import type { CeleryMessage } from './codec.ts';

/** How far apart the copies of one send are sent at most: the SDK's 3 tries, each with its deadline. */
const SAME_SEND_MS = 60_000;
/** How many messages run are remembered. */
const REMEMBERED = 10_000;

export class HandledMessages {
  /** `<task id> <retries> <eta>` → the SQS message that ran it here, when it was sent, when it began. */
  readonly #ran = new Map<string, { messageId: string; sentAt: number; startedAt: number }>();

  /** Its task runs here (from its start: the other copy may be in the same receive). */
  remember(message: Message, celery: CeleryMessage, now = Date.now()): void {
    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (!(sentAt > 0) || !message.MessageId) return;
    const key = keyOf(celery);
    this.#ran.delete(key);
    this.#ran.set(key, { messageId: message.MessageId, sentAt, startedAt: now });
    if (this.#ran.size > REMEMBERED) this.#ran.delete(this.#ran.keys().next().value as string);
  }

  /**
   * Another copy of a message run here: another SQS message with the same task id, retries and eta,
   * sent within a minute of it and before its run began. The same SQS message delivered again (a
   * lost lease, a stop) is not one.
   */
  isCopy(message: Message, celery: CeleryMessage): boolean {
    const ran = this.#ran.get(keyOf(celery));
    const sentAt = Number(message.Attributes?.SentTimestamp);
    if (!ran || ran.messageId === message.MessageId || !(sentAt > 0)) return false;
    return Math.abs(sentAt - ran.sentAt) <= SAME_SEND_MS && sentAt <= ran.startedAt;
  }
}

const keyOf = (celery: CeleryMessage) => `${celery.id} ${celery.retries} ${celery.eta?.getTime() ?? ''}`;
