// Leases on the messages a worker holds. From receipt until it is deleted or given back, a message
// must stay hidden from other workers: the keeper extends its visibility timeout in time, from a
// thread of its own (lease-thread.ts), so that even a task that blocks this thread's event loop
// keeps its message — as Celery keeps the message in a process that does not run the task.
// Only a pause of the whole process (SIGSTOP, a frozen container or VM) stops the keeper too: this
// thread knows each lease's expiry, and gives up those that passed, so that a message SQS may have
// handed to another worker meanwhile is never counted done here.
import { EventEmitter } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { FromKeeper, KeeperData, ToKeeper } from './lease-thread.ts';
import { everyTick } from './loop-monitor.ts';
import { MAX_VISIBILITY_SECONDS } from './queue-client.ts';
import type { SqsSettings } from './sqs.ts';
import { wholeSeconds } from './timing.ts';

/** The message is no longer ours: its lease could not be kept, so SQS may give it to another worker. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

export interface Lease {
  /** Aborts when the message stops being ours: given back, or its lease lost (reason: LeaseLostError). */
  readonly signal: AbortSignal;
  /** The message is done with (deleted, or about to be): stop extending it. */
  drop(): void;
  /**
   * Whether the message is still this worker's: false once given back or lost — and once its
   * visibility timeout has passed unextended, as when the process was paused past it; then the
   * lease is lost here and now (the signal aborts with LeaseLostError). Ask before counting it done.
   */
  check(): boolean;
  /** When SQS makes the message visible again unless the lease is extended (ms since the epoch), as last known. */
  readonly expiresAt: number;
  /**
   * Gives the message back to the queue, visible again after `seconds` (0: at once). Done after any
   * extension in flight, so nothing hides it again. Resolves false if SQS did not take it.
   */
  release(seconds?: number): Promise<boolean>;
}

interface KeeperEvents {
  /** A lease was lost: the message may be delivered to another worker. */
  lost: [reason: string];
  /** An extension call failed; the keeper tries again until the message's timeout passes. */
  extend_error: [queueUrl: string, reason: string];
  /** A release SQS did not take: the message comes back after its visibility timeout. */
  release_error: [reason: string];
  /** The keeper's thread failed; it is started again with the leases it held. */
  error: [error: Error];
  /**
   * Leases expired while this process did not run for `pausedMs` (paused, or its event loop and the
   * keeper's thread both starved): SQS may have delivered their messages again elsewhere.
   */
  expired: [count: number, pausedMs: number];
}

interface Active {
  /** What the keeper's thread needs to keep it, should the thread start again. */
  url: string;
  handle: string;
  seconds: number;
  controller: AbortController;
  /** When SQS makes it visible again, as the keeper last told. */
  expiresAt: number;
  released?: (ok: boolean) => void;
}

const EXPIRED = 'its visibility timeout passed before SQS took an extension';

export class LeaseKeeper extends EventEmitter<KeeperEvents> {
  readonly #settings: SqsSettings;
  readonly #active = new Map<number, Active>();
  #thread: Worker | undefined;
  /** Where the thread answers (see KeeperData). */
  #port: MessagePort | undefined;
  #nextId = 1;
  /** Leases lost to their expiry since the last tick. */
  #expired = 0;
  #stopWatching: (() => void) | undefined;
  /** Leases dropped, not yet told to the thread (see #tick). */
  #drops: number[] = [];

  constructor(settings: SqsSettings) {
    super();
    this.#settings = settings;
  }

  /** Leases a message just received from the queue at `url`, whose visibility timeout is `seconds`. */
  hold(queue: { url: string; visibilityTimeoutSeconds: number }, receiptHandle: string, since = Date.now()): Lease {
    return this.holdAll(queue, [receiptHandle], since)[0] as Lease;
  }

  /**
   * Leases the messages of one receive together: one message to the keeper's thread for them all
   * (a message each cost as much CPU as a no-op task). Posted now, not deferred: a task may block
   * this thread right after.
   */
  holdAll(
    queue: { url: string; visibilityTimeoutSeconds: number },
    receiptHandles: readonly string[],
    since = Date.now(),
  ): Lease[] {
    const seconds = wholeSeconds(queue.visibilityTimeoutSeconds, MAX_VISIBILITY_SECONDS);
    const { url } = queue;
    const firstId = this.#nextId;
    this.#nextId += receiptHandles.length;
    const expiresAt = since + seconds * 1000;
    const leases = receiptHandles.map((handle, index) =>
      this.#lease(firstId + index, { url, handle, seconds, controller: new AbortController(), expiresAt }),
    );
    this.#stopWatching ??= everyTick((lateMs) => this.#tick(lateMs));
    this.#post({ op: 'hold', firstId, url, handles: receiptHandles, seconds, since });
    return leases;
  }

  #lease(id: number, active: Active): Lease {
    this.#active.set(id, active);
    return {
      signal: active.controller.signal,
      drop: () => {
        // A release under way ends the lease itself.
        if (!active.released && this.#active.delete(id)) this.#drops.push(id);
      },
      release: (seconds = 0) => {
        if (!this.#active.has(id) || active.released) return Promise.resolve(false);
        active.controller.abort();
        return new Promise<boolean>((resolve) => {
          active.released = resolve;
          this.#post({ op: 'release', id, seconds: wholeSeconds(seconds, MAX_VISIBILITY_SECONDS) });
        });
      },
      check: () => {
        this.#drain();
        if (this.#active.get(id) === active && !active.released && active.expiresAt <= Date.now()) {
          this.#lose(id, active, EXPIRED, true);
        }
        return !active.controller.signal.aborted;
      },
      get expiresAt() {
        return active.expiresAt;
      },
    };
  }

  /** Messages held now. */
  get size(): number {
    return this.#active.size;
  }

  async close(): Promise<void> {
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    const thread = this.#thread;
    this.#thread = undefined;
    this.#port?.close();
    this.#port = undefined;
    await thread?.terminate();
  }

  /**
   * Every tick of this event loop: the leases whose expiry passed are lost. The keeper's thread
   * finds them too, but only once it runs again, and a late tick means it may not have either.
   */
  #tick(lateMs: number): void {
    // The leases dropped since the last message to the thread: it stops extending them. They go
    // with the next receive's holds, or here, within a tick: a message to the thread costs as much
    // CPU as a no-op task, and late is harmless (the lease is over here already, and an extension
    // of a deleted message only fails).
    if (this.#thread) this.#post();
    this.#drain();
    const now = Date.now();
    for (const [id, active] of this.#active) {
      if (!active.released && active.expiresAt <= now) this.#lose(id, active, EXPIRED, true);
    }
    if (this.#expired > 0) this.emit('expired', this.#expired, lateMs);
    this.#expired = 0;
    if (this.#active.size === 0) {
      this.#stopWatching?.();
      this.#stopWatching = undefined;
    }
  }

  /** Handles now what the thread has told and this event loop has not read yet. */
  #drain(): void {
    const port = this.#port;
    if (!port) return;
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
      this.#receive(next.message as FromKeeper);
    }
  }

  /** Posts `messages`, with the drops waiting, in one message to the thread. */
  #post(...messages: ToKeeper[]): void {
    const ids = this.#drops.splice(0);
    if (ids.length > 0) messages.push({ op: 'drop', ids });
    if (messages.length > 0) this.#start().postMessage(messages);
  }

  #start(): Worker {
    if (this.#thread) return this.#thread;
    // lease-thread.ts next to this file when run from source, lease-thread.js once compiled.
    const file = new URL(`./lease-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    const { port1, port2 } = new MessageChannel();
    const data: KeeperData = { settings: this.#settings, port: port2 };
    const thread = new Worker(file, {
      workerData: data,
      transferList: [port2],
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    thread.unref();
    this.#port?.close();
    this.#port = port1;
    port1.on('message', (message: FromKeeper) => this.#receive(message));
    port1.unref();
    let online = false;
    thread.once('online', () => {
      online = true;
    });
    thread.on('error', (error) => {
      this.emit('error', error);
      // A thread that never started would fail again the same way: no restart loop.
      if (this.#thread !== thread || !online) return;
      this.#thread = undefined;
      // The new thread takes over every lease still held; releases in flight are reported failed.
      for (const [id, active] of this.#active) {
        if (active.released) this.#settle(id, false, 'the lease keeper restarted');
        // From its last known expiry, not its receipt: it may have been extended since.
        else {
          const { url, handle, seconds } = active;
          const since = active.expiresAt - seconds * 1000;
          this.#post({ op: 'hold', firstId: id, url, handles: [handle], seconds, since });
        }
      }
    });
    this.#thread = thread;
    return thread;
  }

  #receive(message: FromKeeper): void {
    if (message.op === 'extend_failed') {
      this.emit('extend_error', message.url, message.reason);
      return;
    }
    if (message.op === 'released') {
      this.#settle(message.id, message.ok, message.reason);
      return;
    }
    if (message.op === 'extended') {
      for (const id of message.ids) {
        const active = this.#active.get(id);
        if (active) active.expiresAt = Math.max(active.expiresAt, message.expiresAt);
      }
      return;
    }
    const active = this.#active.get(message.id);
    if (!active || active.released) return;
    this.#lose(message.id, active, message.reason, message.expired ?? false);
  }

  #lose(id: number, active: Active, reason: string, expired: boolean): void {
    this.#active.delete(id);
    // Lost here first: the thread stops extending it (a no-op if it lost it itself).
    this.#thread?.postMessage([{ op: 'drop', ids: [id] }] satisfies ToKeeper[]);
    if (expired) this.#expired++;
    active.controller.abort(new LeaseLostError(`the message's lease was lost: ${reason}`));
    this.emit('lost', reason);
  }

  #settle(id: number, ok: boolean, reason?: string): void {
    const active = this.#active.get(id);
    if (!active?.released) return;
    this.#active.delete(id);
    if (!ok) this.emit('release_error', reason ?? 'unknown');
    active.released(ok);
  }
}
