// Long polling over one queue. At most `concurrency` tasks run at once, and each slot is refilled
// the moment its task ends, so a slow message never holds up the others. Like Celery's prefetch,
// a receive for an idle slot takes up to `prefetch` more messages, which wait for the next slots
// (kept hidden by the processor meanwhile): most refills cost no SQS round trip, and receives
// carry full batches. One poller per 10 slots (SQS's most per receive). Each message in flight
// has a lease: releasing it (on shutdown) aborts the lease and makes the message visible again.
import { EventEmitter } from 'node:events';
import {
  ChangeMessageVisibilityBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { ReceiveLimiter } from './hooks.ts';

/** SQS returns at most 10 messages per receive, and takes at most 10 entries per batch. */
const MAX_BATCH = 10;

export interface ConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /** Tasks running at once. */
  concurrency: number;
  /** Messages received ahead of a free slot; 10 (one receive) by default, none with a `limiter`. */
  prefetch?: number;
  /**
   * Handles one message to its end. Before running its task it awaits `slot()`, which resolves
   * true once the task may run, or false if the consumer stopped first (the message is released).
   * `lease` aborts when the message is released: from then on it belongs to the queue again and
   * must not be deleted or extended.
   */
  handle(message: Message, lease: AbortSignal, slot: () => Promise<boolean>): Promise<void>;
  waitTimeSeconds?: number;
  /** Asked before each receive how many messages may come (a ratelimit): never receive, then hold. */
  limiter?: ReceiveLimiter;
}

interface ConsumerEvents {
  /** A receive failed; the consumer backs off and tries again. */
  receive_error: [error: Error, attempt: number];
  /** A receive succeeded after failures. */
  recovered: [];
  /** `handle` threw: a bug in the processor, since it handles task errors itself. */
  handler_error: [error: Error, message: Message];
  /** Messages made visible again by `release`. */
  released: [count: number];
  release_error: [error: Error];
}

interface InFlight {
  message: Message;
  lease: AbortController;
  /** Holds a running slot (its task may run or runs). */
  running: boolean;
}

export class QueueConsumer extends EventEmitter<ConsumerEvents> {
  #inFlight = new Map<Promise<void>, InFlight>();
  /** Tasks holding a running slot. */
  #running = 0;
  /** Messages waiting for a running slot, first come first served. */
  #queued: { entry: InFlight; grant(granted: boolean): void }[] = [];
  /** Room a poller has claimed for the receive it is making. */
  #reserved = 0;
  /** Pollers waiting for room. */
  #waiting = new Set<() => void>();
  #polling = new AbortController();
  #loop: Promise<void> | undefined;
  #healthy = false;
  #stopping = false;
  private readonly options: ConsumerOptions;

  constructor(options: ConsumerOptions) {
    super();
    this.options = options;
  }

  /** False while receives fail, true again once one succeeds. */
  get healthy(): boolean {
    return this.#healthy && !this.#stopping;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Starts polling; the caller has just reached the queue (its URL resolved), so it counts as healthy. */
  start(): void {
    this.#healthy = true;
    const pollers = Math.ceil(this.options.concurrency / MAX_BATCH);
    this.#loop ??= Promise.all(Array.from({ length: pollers }, () => this.#poll())).then(() => undefined);
  }

  /**
   * Stops receiving at once (the long poll is aborted), gives the messages waiting for a slot back
   * to the queue, and waits up to `graceMs` for the tasks running. Returns how many still run.
   */
  async stop(graceMs: number): Promise<number> {
    this.#stopping = true;
    this.#polling.abort();
    this.#wakePollers();
    await this.#loop;
    // Messages waiting for a slot never started: back to the queue at once.
    await this.#releaseQueued();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled([...this.#inFlight.keys()]), timeout]);
    clearTimeout(timer);
    // And any that asked for a slot since.
    await this.#releaseQueued();
    return this.#inFlight.size;
  }

  /** Gives every message still in flight back to the queue (visibility 0), for another worker. */
  async release(): Promise<void> {
    await this.#release([...this.#inFlight.values()]);
  }

  async #release(entries: readonly InFlight[]): Promise<void> {
    const leases = entries.filter(({ lease }) => !lease.signal.aborted);
    for (const { lease } of leases) lease.abort();
    for (let start = 0; start < leases.length; start += MAX_BATCH) {
      const batch = leases.slice(start, start + MAX_BATCH);
      try {
        const output = await this.options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: batch.map(({ message }, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        );
        this.emit('released', output.Successful?.length ?? 0);
      } catch (error) {
        this.emit('release_error', error as Error);
      }
    }
  }

  async #poll(): Promise<void> {
    const { sqs, queueUrl, concurrency, waitTimeSeconds = 20 } = this.options;
    const prefetch = this.options.limiter ? 0 : (this.options.prefetch ?? MAX_BATCH);
    let failures = 0;
    while (!this.#stopping) {
      const free = concurrency + prefetch - this.#inFlight.size - this.#reserved;
      // Receive only while a slot is idle: then no receive is in flight when every slot is busy, so
      // a stop that aborts the long poll cannot lose messages to it (an aborted receive can still
      // take messages on the server; they come back only after the visibility timeout).
      if (free <= 0 || this.#running >= concurrency) {
        await new Promise<void>((resolve) => this.#waiting.add(resolve));
        continue;
      }
      let messages: Message[];
      const claimed = Math.min(MAX_BATCH, free);
      this.#reserved += claimed;
      try {
        const allowed = this.options.limiter
          ? await this.options.limiter.acquire(claimed, this.#polling.signal)
          : claimed;
        if (this.#stopping || allowed < 1) continue;
        const output = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: allowed,
            // A limited queue polls briefly: a grant is spent within a second, not held for 20.
            WaitTimeSeconds: this.options.limiter ? Math.min(1, waitTimeSeconds) : waitTimeSeconds,
            MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount', 'MessageGroupId'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: this.#polling.signal },
        );
        messages = output.Messages ?? [];
        this.options.limiter?.release?.(allowed - messages.length);
      } catch (error) {
        if (this.#stopping) break;
        this.#healthy = false;
        failures++;
        this.emit('receive_error', error as Error, failures);
        await sleep(backoffMs(failures), this.#polling.signal);
        continue;
      } finally {
        // Slots it claimed and got no message for are free again, for whichever poller waits.
        this.#reserved -= claimed;
        this.#wakePollers();
      }
      if (failures > 0) this.emit('recovered');
      this.#healthy = true;
      failures = 0;
      for (const message of messages) this.#run(message);
    }
  }

  #run(message: Message): void {
    const entry: InFlight = { message, lease: new AbortController(), running: false };
    const task: Promise<void> = this.options
      .handle(message, entry.lease.signal, () => this.#slot(entry))
      .catch((error: Error) => {
        this.emit('handler_error', error, message);
      })
      .finally(() => {
        this.#inFlight.delete(task);
        if (entry.running) this.#freeSlot();
        this.#wakePollers();
      });
    this.#inFlight.set(task, entry);
  }

  /** Once stopping, no slot is granted: the message waits to be released by `stop`. */
  #slot(entry: InFlight): Promise<boolean> {
    if (!this.#stopping && this.#running < this.options.concurrency) {
      this.#running++;
      entry.running = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.#queued.push({ entry, grant: resolve });
    });
  }

  /** A task ended: its slot goes to the next message waiting, if any. */
  #freeSlot(): void {
    const next = this.#stopping ? undefined : this.#queued.shift();
    if (!next) {
      this.#running--;
      return;
    }
    next.entry.running = true;
    next.grant(true);
  }

  async #releaseQueued(): Promise<void> {
    const queued = this.#queued.splice(0);
    for (const { grant } of queued) grant(false);
    await this.#release(queued.map(({ entry }) => entry));
  }

  #wakePollers(): void {
    for (const wake of this.#waiting) wake();
    this.#waiting.clear();
  }
}

/** Exponential back-off with jitter, from 0.5 s up to 30 s. */
function backoffMs(attempt: number): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 10));
  return cap / 2 + Math.random() * (cap / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
