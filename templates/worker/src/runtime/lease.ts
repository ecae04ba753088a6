// Leases on the messages a worker holds. From receipt until it is deleted or given back, a message
// must stay hidden from other workers: the keeper extends its visibility timeout in time, from a
// thread of its own (lease-thread.ts), so that even a task that blocks this thread's event loop
// keeps its message — as Celery keeps the message in a process that does not run the task.
import { EventEmitter } from 'node:events';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FromKeeper, ToKeeper } from './lease-thread.ts';
import type { SqsSettings } from './sqs.ts';

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
}

interface Active {
  hold: Extract<ToKeeper, { op: 'hold' }>;
  controller: AbortController;
  released?: (ok: boolean) => void;
}

export class LeaseKeeper extends EventEmitter<KeeperEvents> {
  readonly #settings: SqsSettings;
  readonly #active = new Map<number, Active>();
  #thread: Worker | undefined;
  #nextId = 1;

  constructor(settings: SqsSettings) {
    super();
    this.#settings = settings;
  }

  /** Leases a message just received from the queue at `url`, whose visibility timeout is `seconds`. */
  hold(queue: { url: string; visibilityTimeoutSeconds: number }, receiptHandle: string, since = Date.now()): Lease {
    const id = this.#nextId++;
    const hold = {
      op: 'hold',
      id,
      url: queue.url,
      handle: receiptHandle,
      seconds: queue.visibilityTimeoutSeconds,
      since,
    } as const;
    const active: Active = { hold, controller: new AbortController() };
    this.#active.set(id, active);
    // Posted now, not batched: the task may block this thread right after.
    this.#post(hold);
    return {
      signal: active.controller.signal,
      drop: () => {
        // A release under way ends the lease itself.
        if (!active.released && this.#active.delete(id)) this.#post({ op: 'drop', id });
      },
      release: (seconds = 0) => {
        if (!this.#active.has(id) || active.released) return Promise.resolve(false);
        active.controller.abort();
        return new Promise<boolean>((resolve) => {
          active.released = resolve;
          this.#post({ op: 'release', id, seconds: Math.ceil(seconds) });
        });
      },
    };
  }

  /** Messages held now. */
  get size(): number {
    return this.#active.size;
  }

  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.terminate();
  }

  #post(message: ToKeeper): void {
    this.#start().postMessage(message);
  }

  #start(): Worker {
    if (this.#thread) return this.#thread;
    // lease-thread.ts next to this file when run from source, lease-thread.js once compiled.
    const file = new URL(`./lease-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
    const thread = new Worker(file, { workerData: this.#settings, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    thread.unref();
    thread.on('message', (message: FromKeeper) => this.#receive(message));
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
        else this.#post(active.hold);
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
    const active = this.#active.get(message.id);
    if (!active || active.released) return;
    this.#active.delete(message.id);
    active.controller.abort(new LeaseLostError(`the message's lease was lost: ${message.reason}`));
    this.emit('lost', message.reason);
  }

  #settle(id: number, ok: boolean, reason?: string): void {
    const active = this.#active.get(id);
    if (!active?.released) return;
    this.#active.delete(id);
    if (!ok) this.emit('release_error', reason ?? 'unknown');
    active.released(ok);
  }
}
