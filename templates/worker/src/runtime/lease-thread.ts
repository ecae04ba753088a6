// The lease keeper's thread (see lease.ts). It keeps the messages the worker holds hidden while they
// wait and run, with its own SQS client and event loop, so a lease never depends on a task yielding:
// a CPU-bound task that blocks the worker's event loop still keeps its message. One timer for all;
// the due messages of a queue are extended together, 10 per ChangeMessageVisibilityBatch call.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import { createSqsClient, type SqsSettings } from './sqs.ts';
import { MAX_BATCH, timerMs } from './timing.ts';

/**
 * What the keeper's thread starts with. It answers on `port`, not on its parent port: the main
 * thread can read a MessagePort synchronously, to know each lease's expiry even when its event
 * loop was blocked meanwhile (see LeaseKeeper#drain).
 */
export interface KeeperData {
  settings: SqsSettings;
  port: MessagePort;
}

/**
 * The thread gets an array of these per message: a receive's holds (one entry; their ids count up
 * from `firstId`, one per handle), a turn's drops, together.
 */
export type ToKeeper =
  | { op: 'hold'; firstId: number; url: string; handles: readonly string[]; seconds: number; since: number }
  | { op: 'drop'; ids: number[] }
  | { op: 'release'; id: number; seconds: number };

export type FromKeeper =
  /** `expired`: its visibility timeout passed (rather than SQS refusing it). */
  | { op: 'lost'; id: number; reason: string; expired?: boolean }
  /** SQS took the extension of these leases: each is hidden until `expiresAt` (ms since the epoch). */
  | { op: 'extended'; ids: number[]; expiresAt: number }
  | { op: 'released'; id: number; ok: boolean; reason?: string }
  | { op: 'extend_failed'; url: string; reason: string };

interface Held {
  id: number;
  url: string;
  handle: string;
  seconds: number;
  /** When to extend next: a third into the visibility timeout, so a failed call can be tried again. */
  dueAt: number;
  /** When SQS makes it visible unless extended: past this, the message may be another worker's. */
  expiresAt: number;
}

const TICK_MS = 250;
const { settings, port } = workerData as KeeperData;
const sqs = createSqsClient(settings);
const held = new Map<number, Held>();
/** Per queue URL: the extension round in flight, which a release waits for. */
const rounds = new Map<string, Promise<void>>();
/** Per queue URL: no new round before this, after a failed one. */
const pausedUntil = new Map<string, number>();
const releases = new Map<string, { id: number; handle: string; seconds: number }[]>();
let timer: NodeJS.Timeout | undefined;

const post = (message: FromKeeper) => port.postMessage(message);

parentPort?.on('message', (messages: ToKeeper[]) => {
  for (const message of messages) take(message);
  if (held.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
});

function take(message: ToKeeper): void {
  if (message.op === 'hold') {
    const { firstId, url, handles, seconds, since } = message;
    // Extended a third into the timeout, so that a failed call can be tried again.
    const dueAt = since + (seconds * 1000) / 3;
    const expiresAt = since + seconds * 1000;
    handles.forEach((handle, index) => {
      const id = firstId + index;
      held.set(id, { id, url, handle, seconds, dueAt, expiresAt });
    });
    timer ??= setInterval(tick, TICK_MS);
  } else if (message.op === 'drop') {
    for (const id of message.ids) held.delete(id);
  } else {
    release(message.id, message.seconds);
  }
}

function tick(): void {
  const now = Date.now();
  const due = new Map<string, Held[]>();
  for (const lease of held.values()) {
    if (lease.expiresAt <= now) {
      held.delete(lease.id);
      post({
        op: 'lost',
        id: lease.id,
        reason: 'its visibility timeout passed before SQS took an extension',
        expired: true,
      });
      continue;
    }
    if (lease.dueAt > now || rounds.has(lease.url) || (pausedUntil.get(lease.url) ?? 0) > now) continue;
    due.set(lease.url, [...(due.get(lease.url) ?? []), lease]);
  }
  for (const [url, leases] of due) {
    const round = extend(url, leases).finally(() => rounds.delete(url));
    rounds.set(url, round);
  }
}

async function extend(url: string, leases: Held[]): Promise<void> {
  for (let start = 0; start < leases.length; start += MAX_BATCH) {
    const batch = leases.slice(start, start + MAX_BATCH);
    const sentAt = Date.now();
    // An answer later than a third of the timeout is no use: give up and try again on a later tick.
    // Whole milliseconds: a third of most timeouts is not, and AbortSignal.timeout takes no fraction.
    const patience = timerMs(Math.max(1000, Math.min(10_000, (Math.min(...batch.map((l) => l.seconds)) * 1000) / 3)));
    try {
      const output = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: url,
          Entries: batch.map((lease, index) => ({
            Id: String(index),
            ReceiptHandle: lease.handle,
            VisibilityTimeout: lease.seconds,
          })),
        }),
        { abortSignal: AbortSignal.timeout(patience) },
      );
      const failed = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
      const extended = new Map<number, number[]>();
      batch.forEach((lease, index) => {
        if (held.get(lease.id) !== lease) return; // dropped or released meanwhile
        const failure = failed.get(String(index));
        if (!failure) {
          lease.dueAt = sentAt + (lease.seconds * 1000) / 3;
          lease.expiresAt = sentAt + lease.seconds * 1000;
          extended.set(lease.expiresAt, [...(extended.get(lease.expiresAt) ?? []), lease.id]);
        } else if (failure.SenderFault) {
          // The receipt handle no longer holds the message: it was received again, or it is gone.
          held.delete(lease.id);
          post({
            op: 'lost',
            id: lease.id,
            reason: `SQS refused the extension: ${failure.Code} ${failure.Message ?? ''}`,
          });
        }
      });
      for (const [expiresAt, ids] of extended) post({ op: 'extended', ids, expiresAt });
    } catch (error) {
      pausedUntil.set(url, Date.now() + 1000);
      post({ op: 'extend_failed', url, reason: (error as Error).message });
      return;
    }
  }
}

function release(id: number, seconds: number): void {
  const lease = held.get(id);
  if (!lease) {
    post({ op: 'released', id, ok: false, reason: 'its lease had already ended' });
    return;
  }
  held.delete(id);
  const pending = releases.get(lease.url);
  if (pending) {
    pending.push({ id, handle: lease.handle, seconds });
    return;
  }
  releases.set(lease.url, [{ id, handle: lease.handle, seconds }]);
  // Releases asked for in the same turn go out together, after any extension in flight for their
  // queue: a late extension must not hide a released message again.
  setImmediate(async () => {
    await rounds.get(lease.url);
    const entries = releases.get(lease.url) ?? [];
    releases.delete(lease.url);
    for (let start = 0; start < entries.length; start += MAX_BATCH)
      await changeVisibility(lease.url, entries.slice(start, start + MAX_BATCH));
  });
}

async function changeVisibility(url: string, batch: { id: number; handle: string; seconds: number }[]): Promise<void> {
  try {
    const output = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: batch.map(({ handle, seconds }, index) => ({
          Id: String(index),
          ReceiptHandle: handle,
          VisibilityTimeout: seconds,
        })),
      }),
      { abortSignal: AbortSignal.timeout(5000) },
    );
    const failed = new Map((output.Failed ?? []).map((failure) => [failure.Id, failure]));
    batch.forEach(({ id }, index) => {
      const failure = failed.get(String(index));
      post(
        failure
          ? { op: 'released', id, ok: false, reason: `${failure.Code} ${failure.Message ?? ''}` }
          : { op: 'released', id, ok: true },
      );
    });
  } catch (error) {
    for (const { id } of batch) post({ op: 'released', id, ok: false, reason: (error as Error).message });
  }
}
