// Redrive one batch at a time, where SQS has no message moves (a local emulator) or only some
// messages go (a task filter): receive from the dead-letter queue, send the body as it is there
// (the message as first sent, so its retries start afresh; the dead-letter attributes stay behind,
// a pointer's size attribute goes with it)
// to the queue, and delete from the dead-letter queue only what was sent. At-least-once: a crash
// between the send and the delete leaves a copy in both, never in neither.
import { DeleteMessageBatchCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_MAX_BODY_BYTES } from '../../templates/worker/src/runtime/codec.ts';
import { isFifo } from '../../templates/worker/src/runtime/naming.ts';
import { MAX_BATCH, sleep } from '../../templates/worker/src/runtime/timing.ts';
import { type ReceivedDeadLetter, receiveDeadLetters, release } from './read.ts';

/** Messages are hidden this long while they move: past it, one a crash left behind is back in the DLQ. */
const MOVE_HIDE_SECONDS = 60;

export interface QueueRef {
  name: string;
  url: string;
}

export interface LoopOptions {
  sqs: SQSClient;
  from: QueueRef;
  to: QueueRef;
  /** Move only the messages of this task; the others stay, untouched. */
  task?: string | undefined;
  /** At most this many messages a second. */
  rate?: number | undefined;
  /**
   * The dead-letter queue's count when the redrive began: no more than this many move. With the
   * dead letters made since the redrive began left where they are, a message whose cause is not
   * fixed comes back to the dead-letter queue and stays there, instead of going round forever.
   */
  limit: number;
  /** Stops after the batch in hand: what was sent is deleted, the rest stays. */
  signal?: AbortSignal | undefined;
  onProgress?(moved: number): void;
}

export interface LoopResult {
  moved: number;
  /** Not sent (SQS refused them): still in the dead-letter queue. */
  failed: number;
  /** Sent, but still in the dead-letter queue too (the delete failed): a redrive again duplicates them. */
  notDeleted: number;
  /** Left in place by the task filter. */
  skipped: number;
  /** Moved by this redrive and dead-lettered again while it ran (the cause is not fixed): they stay. */
  again: number;
}

export async function redriveLoop(options: LoopOptions): Promise<LoopResult> {
  const { sqs, from, to, task, rate, limit, signal, onProgress } = options;
  const result: LoopResult = { moved: 0, failed: 0, notDeleted: 0, skipped: 0, again: 0 };
  // Kept hidden until the end, so that each receive brings new ones; then visible again at once.
  const keep = new Map<string, ReceivedDeadLetter>();
  const started = Date.now();
  try {
    while (!signal?.aborted && result.moved < limit) {
      const batch = await receiveDeadLetters(sqs, from.url, {
        max: Math.min(MAX_BATCH, rate ?? MAX_BATCH, limit - result.moved),
        hideSeconds: MOVE_HIDE_SECONDS,
      });
      // Nothing new: what is left is what stays.
      if (batch.every((letter) => keep.has(letter.messageId))) break;
      const moving = batch.filter((letter) => (!task || letter.task === task) && !deadLetteredSince(letter, started));
      for (const letter of batch) if (!moving.includes(letter)) keep.set(letter.messageId, letter);
      const sent = await send(sqs, to, moving);
      for (const letter of moving) if (!sent.includes(letter)) keep.set(letter.messageId, letter);
      const deleted = await remove(sqs, from.url, sent);
      result.moved += sent.length;
      result.notDeleted += sent.length - deleted;
      onProgress?.(result.moved);
      if (rate) await sleep(started + (result.moved * 1000) / rate - Date.now(), signal);
    }
  } finally {
    // Best effort: if this fails, they are back on their own after MOVE_HIDE_SECONDS.
    await release(sqs, from.url, [...keep.values()]).catch(() => {});
  }
  for (const letter of keep.values()) {
    if (deadLetteredSince(letter, started)) result.again++;
    else if (!task || letter.task === task) result.failed++;
    else result.skipped++;
  }
  return result;
}

/** Dead-lettered by the worker after `time`: moved by this redrive, and failed again. */
function deadLetteredSince({ deadLetteredAt }: ReceivedDeadLetter, time: number): boolean {
  return deadLetteredAt !== undefined && Date.parse(deadLetteredAt) >= time;
}

/** Sends the bodies as they are, in batches within SQS's limits; returns those SQS took. */
async function send(sqs: SQSClient, to: QueueRef, letters: readonly ReceivedDeadLetter[]) {
  const sent: ReceivedDeadLetter[] = [];
  for (const batch of batches(letters)) {
    const { Successful = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: to.url,
        Entries: batch.map((letter, index) => ({
          Id: String(index),
          MessageBody: letter.body,
          // A pointer stays a pointer (its object stays too): without its size attribute the
          // worker would read the pointer's JSON as the task.
          ...(letter.pointerAttributes ? { MessageAttributes: letter.pointerAttributes } : {}),
          // A FIFO queue needs a group, and a deduplication id: the dead letter's, so a redrive run
          // twice within SQS's five minutes sends the message once.
          ...(isFifo(to.name)
            ? { MessageGroupId: letter.groupId ?? letter.task ?? 'redrive', MessageDeduplicationId: letter.messageId }
            : letter.groupId
              ? { MessageGroupId: letter.groupId }
              : {}),
        })),
      }),
    );
    for (const { Id } of Successful) {
      const letter = batch[Number(Id)];
      if (letter) sent.push(letter);
    }
  }
  return sent;
}

/** Up to 10 messages a batch, and at most SQS's largest message in bytes together. */
function* batches(letters: readonly ReceivedDeadLetter[]): Generator<ReceivedDeadLetter[]> {
  let batch: ReceivedDeadLetter[] = [];
  let bytes = 0;
  for (const letter of letters) {
    const size = Buffer.byteLength(letter.body);
    if (batch.length === MAX_BATCH || (batch.length > 0 && bytes + size > SQS_MAX_BODY_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(letter);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** Deletes what was sent from the dead-letter queue; returns how many went. */
async function remove(sqs: SQSClient, url: string, letters: readonly ReceivedDeadLetter[]): Promise<number> {
  if (letters.length === 0) return 0;
  const { Successful = [] } = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: letters.map((letter, index) => ({ Id: String(index), ReceiptHandle: letter.receiptHandle })),
    }),
  );
  return Successful.length;
}
