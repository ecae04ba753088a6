// Reading dead letters without taking them: received hidden for a short while, decoded with the
// worker's own codec, then made visible again at once.
import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { decodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import {
  type PayloadPointer,
  POINTER_ATTRIBUTES,
  readPointer,
} from '../../templates/worker/src/runtime/payload-pointer.ts';
import { MAX_BATCH } from '../../templates/worker/src/runtime/timing.ts';

/**
 * How long a read hides a message: the visibility is set back to 0 as soon as the read ends, so this
 * matters only if the command dies in between (the message is back on its own after it).
 */
export const READ_HIDE_SECONDS = 30;

export interface DeadLetter {
  messageId: string;
  /** The task (from the body; from the `task` attribute when the body cannot be decoded). */
  task?: string;
  taskId?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** Retries made before it was dead-lettered. */
  retries?: number;
  /** Why: the worker's `error_type` and `error_message` attributes. */
  errorType?: string;
  errorMessage?: string;
  sourceQueue?: string;
  deadLetteredAt?: string;
  /** Receives of the message on its own queue before it was dead-lettered. */
  receiveCount?: number;
  /** Why the body is not a Celery message, when it is not. */
  decodeError?: string;
  /**
   * The body is in S3 (large-payloads, or an SQS extended client): where, its size, and why it was
   * not read when it was not.
   */
  payload?: PayloadPointer & { unread?: string };
}

/** A received dead letter: what it says, and what is needed to move it. */
export interface ReceivedDeadLetter extends DeadLetter {
  receiptHandle: string;
  /** The body as the dead-letter queue holds it: the message as first sent. */
  body: string;
  groupId?: string;
  /** The attributes that make the body a pointer: a redrive sends them with it. */
  pointerAttributes?: Record<string, MessageAttributeValue>;
}

export function readDeadLetter(message: Message): ReceivedDeadLetter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const numeric = (name: string) => {
    const value = attribute(name);
    return value === undefined ? undefined : Number(value);
  };
  const letter: ReceivedDeadLetter = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    ...defined({
      errorType: attribute('error_type'),
      errorMessage: attribute('error_message'),
      sourceQueue: attribute('source_queue'),
      deadLetteredAt: attribute('dead_lettered_at'),
      receiveCount: numeric('receive_count'),
      groupId: message.Attributes?.MessageGroupId,
    }),
  };
  const fromAttributes = () =>
    defined({ task: attribute('task'), taskId: attribute('task_id'), retries: numeric('retries') });
  let pointer: PayloadPointer | undefined;
  try {
    pointer = readPointer(message);
  } catch (error) {
    return { ...letter, ...fromAttributes(), decodeError: (error as Error).message };
  }
  if (pointer) {
    // The task's body is in S3: what is known without reading it is in the attributes.
    const kept = POINTER_ATTRIBUTES.flatMap((name) => {
      const value = message.MessageAttributes?.[name];
      return value ? [[name, value] as const] : [];
    });
    return { ...letter, ...fromAttributes(), payload: pointer, pointerAttributes: Object.fromEntries(kept) };
  }
  return decodedLetter(letter, letter.body, numeric('retries'), fromAttributes);
}

/** The letter with what its Celery body says; what its attributes say when the body is not one. */
function decodedLetter<T extends DeadLetter>(
  letter: T,
  body: string,
  retries: number | undefined,
  fromAttributes: () => Partial<DeadLetter>,
): T {
  try {
    const celery = decodeMessage(body);
    return {
      ...letter,
      task: celery.task,
      taskId: celery.id,
      args: celery.args,
      kwargs: celery.kwargs,
      retries: retries ?? celery.retries,
    };
  } catch (error) {
    return { ...letter, ...fromAttributes(), decodeError: (error as Error).message };
  }
}

/**
 * Reads a stored body (GetObject; never deleted): its contents, or why not (missing, too large to
 * show, unreadable) as a sentence.
 */
export type PayloadReader = (pointer: PayloadPointer) => Promise<{ body: string } | { unread: string }>;

/** The letters whose body is in S3, with it read and decoded; the others as they are. */
export async function withPayloads(letters: DeadLetter[], read: PayloadReader): Promise<DeadLetter[]> {
  return Promise.all(
    letters.map(async (letter) => {
      if (!letter.payload) return letter;
      const result = await read(letter.payload);
      if ('unread' in result) return { ...letter, payload: { ...letter.payload, unread: result.unread } };
      // Unreadable as Celery: the task and id the attributes gave stay.
      return decodedLetter(letter, result.body, letter.retries, () => ({}));
    }),
  );
}

function defined<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** Receives up to 10 dead letters, hidden for `hideSeconds`, with every attribute. */
export async function receiveDeadLetters(
  sqs: SQSClient,
  url: string,
  { max = MAX_BATCH, hideSeconds = READ_HIDE_SECONDS, waitSeconds = 1 } = {},
): Promise<ReceivedDeadLetter[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: Math.min(MAX_BATCH, max),
      VisibilityTimeout: hideSeconds,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['MessageGroupId'],
      AttributeNames: ['All'], // the older name, which local-aws-sqs reads
    }),
  );
  return Messages.map(readDeadLetter);
}

/** Makes received messages visible again now, 10 at a time. */
export async function release(sqs: SQSClient, url: string, letters: readonly ReceivedDeadLetter[]): Promise<void> {
  for (let start = 0; start < letters.length; start += MAX_BATCH) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: letters.slice(start, start + MAX_BATCH).map((letter, index) => ({
          Id: String(index),
          ReceiptHandle: letter.receiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/**
 * Up to `max` dead letters, read and put back: each is hidden only while the others are read (so
 * none is read twice), then all are visible again, even when the read fails half-way.
 */
export async function readDeadLetters(sqs: SQSClient, url: string, max: number): Promise<DeadLetter[]> {
  const read: ReceivedDeadLetter[] = [];
  try {
    while (read.length < max) {
      const batch = await receiveDeadLetters(sqs, url, { max: max - read.length });
      if (batch.length === 0) break;
      read.push(...batch);
    }
  } finally {
    await release(sqs, url, read);
  }
  return read.map(({ receiptHandle: _, body: __, groupId: ___, pointerAttributes: ____, ...letter }) => letter);
}
