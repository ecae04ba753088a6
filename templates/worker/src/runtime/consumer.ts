// Long polling over one queue. At most `concurrency` tasks run at once, and each slot is refilled
// the moment its task ends, so a slow message never holds up the others. Like Celery's prefetch,
// a receive for an idle slot takes up to `prefetch` more messages, which wait for the next slots
// (leased, so hidden, meanwhile): most refills cost no SQS round trip, and receives carry full
// batches. One poller per 10 slots (SQS's most per receive). Every message received is leased
// (lease.ts) until its handler is done with it or the consumer gives it back.
//
// On a FIFO queue, messages of one group run one at a time, in the order received, while groups
// run side by side: a message waits behind its group's earlier ones without holding a slot. One
// given back (an eta, a stop, a lost lease) takes its group's later ones back with it, so SQS
// delivers them again after it, in order.
import { EventEmitter } from 'node:events';
import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ReceiveLimiter } from './hooks.ts';
import type { Lease, LeaseKeeper } from './lease.ts';
import { backoffMs, DEFAULT_WAIT_SECONDS, deadline, MAX_BATCH, RECEIVE_PATIENCE_SECONDS, sleep } from './timing.ts';

export interface ConsumerOptions {
  sqs: SQSClient;
  queue: { url: string; visibilityTimeoutSeconds: number; fifo?: boolean };
  leases: LeaseKeeper;
  /** Tasks running at once. */
  concurrency: number;
  /** Messages received ahead of a free slot; 10 (one receive) by default, none with a `limiter`. */
  prefetch?: number;
  /**
   * Handles one message to its end. Before running its task it awaits `turn.take()`, which resolves
   * true once the task may run, or false if the consumer stopped first (the message is given back);
   * `turn.give()` gives the slot up before the end (to wait, then take a turn again).
   * `lease.signal` aborts when the message is given back or its lease lost: from then on it is not
   * this worker's, and must not be deleted.
   */
  handle(message: Message, lease: Lease, turn: Turn): Promise<void>;
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
  /** Messages given back to the queue by `release`, and those SQS did not take. */
  released: [count: number, failed: number];
  /** A receive brought messages. */
  received: [messages: Message[]];
}

/** A message's claim on a running slot. */
export interface Turn {
  take(): Promise<boolean>;
  give(): void;
}

interface InFlight {
  message: Message;
  lease: Lease;
  /** Holds a running slot (its task may run or runs). */
  running: boolean;
  /** FIFO queues: its message group, whose messages run one at a time in order. */
  group?: string;
  /** It gave its slot up to wait (a FIFO retry in place) and will take a turn again. */
  resting?: boolean;
}

export class QueueConsumer extends EventEmitter<ConsumerEvents> {
  #inFlight = new Map<Promise<void>, InFlight>();
  /** Tasks holding a running slot. */
  #running = 0;
  /** Messages waiting for a running slot, first come first served (by group on FIFO queues). */
  #queued: { entry: InFlight; grant(granted: boolean): void }[] = [];
  /** FIFO queues: each group's messages held, in the order received; the first one's turn comes first. */
  #groups = new Map<string, InFlight[]>();
  /** Room a poller has claimed for the receive it is making. */
  #reserved = 0;
  /** Pollers waiting for room. */
  #waiting = new Set<() => void>();
  /** Receives in flight, by when they started. */
  #receives = new Map<ReturnType<typeof deadline>, number>();
  /** Aborted at stop: waits for a ratelimit or a back-off (never a receive: see `stop`). */
  #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #healthy = false;
  #stopping = false;
  private readonly options: ConsumerOptions;

  constructor(options: ConsumerOptions) {
    super();
    this.options = options;
  }

  /**
   * False while receives fail — at once on an error (SQS refused, or answered with one), after two
   * receives in a row went unanswered past their deadline (silent) — and true again once one succeeds.
   * One unanswered receive alone is a slow SQS, not an outage: the next one waits less (see #poll).
   */
  get healthy(): boolean {
    return this.#healthy && !this.#stopping;
  }

  /**
   * False when a receive has been open far longer than its deadline allows: the poller is stuck
   * (a fault in the runtime, since every receive has a deadline), and the process should restart.
   */
  get alive(): boolean {
    const limit = ((this.options.waitTimeSeconds ?? DEFAULT_WAIT_SECONDS) + 30) * 1000;
    const now = Date.now();
    return [...this.#receives.values()].every((startedAt) => now - startedAt < limit);
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
   * Stops receiving, gives the messages waiting for a slot back to the queue, and waits up to
   * `graceMs` for the tasks running. Returns how many still run.
   *
   * An open long poll is let finish (within the long-poll wait), and what it brings is given back with
   * the rest, even when this consumer holds nothing: a poll aborted by the client stays open at SQS,
   * which hands it the next message sent or given back, and nobody reads it, so that message stays
   * hidden for its visibility timeout (a task sent just after a restart would wait that long).
   */
  async stop(graceMs: number): Promise<number> {
    this.#stopping = true;
    this.#stop.abort();
    this.#wakePollers();
    const grace = new AbortController();
    const graceOver = sleep(graceMs, grace.signal);
    await this.#loop;
    await this.#releaseQueued();
    await Promise.race([Promise.allSettled([...this.#inFlight.keys()]), graceOver]);
    grace.abort();
    // And any that asked for a slot since.
    await this.#releaseQueued();
    return this.#inFlight.size;
  }

  /** Gives every message still in flight back to the queue (visible at once), for another worker. */
  async release(): Promise<void> {
    await this.#release([...this.#inFlight.values()]);
  }

  async #release(entries: readonly InFlight[]): Promise<void> {
    if (entries.length === 0) return;
    const results = await Promise.all(entries.map(({ lease }) => lease.release(0)));
    const released = results.filter(Boolean).length;
    this.emit('released', released, results.length - released);
  }

  async #poll(): Promise<void> {
    const { sqs, queue, concurrency, waitTimeSeconds = DEFAULT_WAIT_SECONDS, limiter } = this.options;
    const prefetch = limiter ? 0 : (this.options.prefetch ?? MAX_BATCH);
    // A limited queue polls briefly: a grant is spent within a second, not held for 20.
    const longestWait = limiter ? Math.min(1, waitTimeSeconds) : waitTimeSeconds;
    // Every receive gets the deadline of the longest poll (the one a stop is sized for), however
    // briefly it waits: the time beyond its wait is for SQS's answer to travel, slow as it may be.
    const patience = (Math.max(waitTimeSeconds, DEFAULT_WAIT_SECONDS) + RECEIVE_PATIENCE_SECONDS) * 1000;
    // A receive SQS answered too late to be heard: the next ones wait less, so that its answer comes
    // within the deadline; each answer heard lets the wait grow back.
    let wait = longestWait;
    let failures = 0;
    let unanswered = 0;
    while (!this.#stopping) {
      const free = concurrency + prefetch - this.#inFlight.size - this.#reserved;
      // Beside a receive in flight, which brings the next messages anyway, another waits for room
      // for a full batch: at C = 1,000, slots freed one by one made receives of one or two, and
      // twice the receives cost more CPU than the tasks. A ratelimit's grants are spent as they come.
      const least = this.#reserved > 0 && !limiter ? Math.min(MAX_BATCH, concurrency + prefetch) : 1;
      // Receive only while a slot is idle: then no receive is open when every slot is busy, and a
      // stop can give the waiting messages back at once.
      if (free < least || this.#running >= concurrency) {
        await new Promise<void>((resolve) => this.#waiting.add(resolve));
        continue;
      }
      let messages: Message[];
      const claimed = Math.min(MAX_BATCH, free);
      this.#reserved += claimed;
      // There may be room for another receive beside this one: the next poller looks.
      this.#wakePoller();
      const call = deadline(patience);
      try {
        const allowed = limiter ? await limiter.acquire(claimed, this.#stop.signal) : claimed;
        if (this.#stopping || allowed < 1) continue;
        this.#receives.set(call, Date.now());
        const output = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: allowed,
            WaitTimeSeconds: wait,
            MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount', 'MessageGroupId'],
            // The same by the API's older name, which some SQS emulators read instead.
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          // The client's request timeout is shorter than a long poll: this call gets the poll's own.
          { abortSignal: call.signal, requestTimeout: patience },
        );
        messages = output.Messages ?? [];
        limiter?.release?.(allowed - messages.length);
      } catch (error) {
        if (this.#stopping) break;
        const timedOut = (call.signal.reason as Error | undefined)?.name === 'TimeoutError';
        unanswered = timedOut ? unanswered + 1 : 0;
        if (timedOut) wait = Math.max(1, Math.floor(wait / 2));
        if (!timedOut || unanswered >= 2) this.#healthy = false;
        failures++;
        this.emit('receive_error', error as Error, failures);
        await sleep(backoffMs(failures), this.#stop.signal);
        continue;
      } finally {
        call.done();
        this.#receives.delete(call);
        // Slots it claimed and got no message for are free again, for whichever poller waits.
        this.#reserved -= claimed;
        this.#wakePoller();
      }
      if (failures > 0) this.emit('recovered');
      this.#healthy = true;
      failures = 0;
      unanswered = 0;
      wait = Math.min(longestWait, wait * 2);
      // All of a batch join their groups before any is handled: one given back at once must find
      // its group's later messages there, to take them back with it.
      if (messages.length > 0) this.emit('received', messages);
      // Leased together: one message to the lease keeper's thread for the whole batch.
      const leases = this.options.leases.holdAll(
        queue,
        messages.map((message) => message.ReceiptHandle ?? ''),
      );
      const entries = messages.map((message, index) => this.#admit(message, leases[index] as Lease));
      for (const entry of entries) this.#run(entry);
    }
  }

  /** Takes in a message received and leased; on a FIFO queue, puts it last in its group. */
  #admit(message: Message, lease: Lease): InFlight {
    const group = this.options.queue.fifo ? (message.Attributes?.MessageGroupId ?? '') : undefined;
    const entry: InFlight = { message, lease, running: false, group };
    if (group !== undefined) {
      this.#groups.set(group, [...(this.#groups.get(group) ?? []), entry]);
      lease.signal.addEventListener('abort', () => void this.#giveBackLaterInGroup(entry), { once: true });
    }
    return entry;
  }

  #run(entry: InFlight): void {
    const { message, lease } = entry;
    const turn: Turn = {
      take: () => {
        entry.resting = false;
        return this.#take(entry);
      },
      give: () => {
        if (!entry.running) return;
        entry.running = false;
        entry.resting = true;
        this.#freeSlot();
      },
    };
    const task: Promise<void> = this.options
      .handle(message, lease, turn)
      .catch((error: Error) => {
        this.emit('handler_error', error, message);
      })
      .finally(() => {
        lease.drop();
        this.#inFlight.delete(task);
        this.#leaveGroup(entry);
        if (entry.running) {
          entry.running = false;
          this.#freeSlot();
        } else this.#grantWaiting();
        this.#wakePoller();
      });
    this.#inFlight.set(task, entry);
  }

  /** Once stopping, no slot is granted: the message waits to be given back by `stop`. */
  #take(entry: InFlight): Promise<boolean> {
    if (entry.lease.signal.aborted) return Promise.resolve(false);
    if (this.#mayRun(entry)) {
      this.#running++;
      entry.running = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      this.#queued.push({ entry, grant: resolve });
    });
  }

  /** A slot is free, and on a FIFO queue every earlier message of its group is done. */
  #mayRun(entry: InFlight): boolean {
    if (this.#stopping || this.#running >= this.options.concurrency) return false;
    return entry.group === undefined || this.#groups.get(entry.group)?.[0] === entry;
  }

  /** A slot was freed: it goes to the first message waiting that may run. */
  #freeSlot(): void {
    this.#running--;
    this.#grantWaiting();
  }

  #grantWaiting(): void {
    for (let index = 0; index < this.#queued.length; ) {
      const next = this.#queued[index];
      if (!next || !this.#mayRun(next.entry)) {
        index++;
        continue;
      }
      this.#queued.splice(index, 1);
      this.#running++;
      next.entry.running = true;
      next.grant(true);
    }
  }

  #leaveGroup(entry: InFlight): void {
    if (entry.group === undefined) return;
    const rest = (this.#groups.get(entry.group) ?? []).filter((other) => other !== entry);
    if (rest.length > 0) this.#groups.set(entry.group, rest);
    else this.#groups.delete(entry.group);
  }

  /**
   * A FIFO message went back to the queue: its group's later messages go back too, so SQS delivers
   * them again after it, in order. Those waiting for a turn get none; the others see their lease end.
   */
  async #giveBackLaterInGroup(entry: InFlight): Promise<void> {
    const members = this.#groups.get(entry.group ?? '') ?? [];
    const index = members.indexOf(entry);
    if (index < 0) return; // itself given back with an earlier one
    // Out of the group at once, so that their own give-backs find nothing more to do.
    const later = new Set(members.splice(index + 1).filter((other) => !other.lease.signal.aborted));
    const waiting = this.#queued.filter(({ entry: other }) => later.has(other));
    this.#queued = this.#queued.filter(({ entry: other }) => !later.has(other));
    await this.#release([...later]);
    for (const { grant } of waiting) grant(false);
  }

  /** Messages waiting for a turn, or resting before they take one again, go back to the queue. */
  async #releaseQueued(): Promise<void> {
    const queued = this.#queued.splice(0);
    const resting = [...this.#inFlight.values()].filter((entry) => entry.resting);
    await this.#release([...queued.map(({ entry }) => entry), ...resting]);
    for (const { grant } of queued) grant(false);
  }

  /**
   * One waiting poller looks again. They share the room they look at: if it cannot receive, none
   * can, and if it does, it wakes the next one. Waking all of them at every task's end cost, at
   * C = 1,000, a hundred wake-ups per message.
   */
  #wakePoller(): void {
    const [wake] = this.#waiting;
    if (!wake) return;
    this.#waiting.delete(wake);
    wake();
  }

  #wakePollers(): void {
    for (const wake of this.#waiting) wake();
    this.#waiting.clear();
  }
}
