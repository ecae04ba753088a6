// QueueConsumer on its own, deterministic: a stubbed SQS that hands out the messages a test gives
// it, a stubbed lease keeper, and fake timers. Slots, prefetch, stop, give-back, back-off.
import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueueConsumer, type Turn } from '../../templates/worker/src/runtime/consumer.ts';
import type { ReceiveLimiter } from '../../templates/worker/src/runtime/hooks.ts';
import type { Lease, LeaseKeeper } from '../../templates/worker/src/runtime/lease.ts';

/** An SQS queue in memory: a receive takes what is there, or waits (a long poll) until a push or its wait ends. */
class FakeSqs {
  queue: Message[] = [];
  receives: { max: number; wait: number }[] = [];
  /** Receives still open (a long poll with nothing to take yet), and whether the client aborted them. */
  open = 0;
  /**
   * Messages a poll the client aborted took, as SQS does: it still holds the poll open and hands it the
   * next message, which nobody reads, so it stays hidden for its visibility timeout.
   */
  hidden: Message[] = [];
  fail: Error | undefined;
  #waiters: (() => void)[] = [];
  /** Polls the client aborted, still open at "SQS" until their wait ends. */
  #abandoned: { max: number; until: number }[] = [];
  #next = 0;

  push(count: number, group?: string): void {
    for (let i = 0; i < count; i++) {
      const id = ++this.#next;
      const attributes = group ? { Attributes: { MessageGroupId: group } } : {};
      this.queue.push({ MessageId: `m${id}`, ReceiptHandle: `r${id}`, Body: '{}', ...attributes });
    }
    // An abandoned poll, opened first, is served first.
    this.#abandoned = this.#abandoned.filter(({ until }) => until > Date.now());
    for (const poll of this.#abandoned.splice(0)) this.hidden.push(...this.queue.splice(0, poll.max));
    for (const wake of this.#waiters.splice(0)) wake();
  }

  readonly client = {
    send: async (command: unknown, options: { abortSignal?: AbortSignal } = {}) => {
      if (!(command instanceof ReceiveMessageCommand)) throw new Error('unexpected command');
      const max = command.input.MaxNumberOfMessages ?? 1;
      const wait = command.input.WaitTimeSeconds ?? 0;
      this.receives.push({ max, wait });
      if (this.fail) throw this.fail;
      if (this.queue.length === 0) {
        this.open++;
        try {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, wait * 1000);
            this.#waiters.push(() => {
              clearTimeout(timer);
              resolve();
            });
            options.abortSignal?.addEventListener('abort', () => {
              clearTimeout(timer);
              this.#abandoned.push({ max, until: Date.now() + wait * 1000 });
              reject(options.abortSignal?.reason ?? new Error('aborted'));
            });
          });
        } finally {
          this.open--;
        }
      }
      return { Messages: this.queue.splice(0, max) };
    },
  } as unknown as SQSClient;
}

/** Leases that only record what happens to them. */
function fakeKeeper() {
  const released: string[] = [];
  const dropped: string[] = [];
  const hold = (handle: string): Lease => {
    const controller = new AbortController();
    return {
      signal: controller.signal,
      drop: () => dropped.push(handle),
      check: () => !controller.signal.aborted,
      expiresAt: Number.POSITIVE_INFINITY,
      release: async () => {
        controller.abort();
        released.push(handle);
        return true;
      },
    };
  };
  const keeper = {
    holdAll: (_queue: unknown, handles: string[]) => handles.map(hold),
  } as unknown as LeaseKeeper;
  return { keeper, released, dropped };
}

/** Tasks that run until the test ends them. */
function tasks() {
  const running = new Map<string, () => void>();
  const started: string[] = [];
  const handle = async (message: Message, _lease: Lease, turn: Turn) => {
    if (!(await turn.take())) return;
    started.push(message.MessageId ?? '');
    await new Promise<void>((resolve) => running.set(message.MessageId ?? '', resolve));
    running.delete(message.MessageId ?? '');
  };
  const finish = (id: string) => running.get(id)?.();
  return { handle, running, started, finish };
}

let sqs: FakeSqs;
let leases: ReturnType<typeof fakeKeeper>;
let work: ReturnType<typeof tasks>;

beforeEach(() => {
  vi.useFakeTimers();
  sqs = new FakeSqs();
  leases = fakeKeeper();
  work = tasks();
});
afterEach(() => {
  vi.useRealTimers();
});

function consumer(options: { concurrency: number; limiter?: ReceiveLimiter; fifo?: boolean }) {
  return new QueueConsumer({
    sqs: sqs.client,
    queue: { url: 'q', visibilityTimeoutSeconds: 30, fifo: options.fifo },
    leases: leases.keeper,
    handle: work.handle,
    waitTimeSeconds: 10,
    ...options,
  });
}

const settle = () => vi.advanceTimersByTimeAsync(0);

describe('QueueConsumer', () => {
  it('runs at most `concurrency` tasks, and refills a slot from its prefetch the moment a task ends', async () => {
    sqs.push(12);
    const c = consumer({ concurrency: 2 });
    c.start();
    await settle();
    // One receive for 2 slots + 10 ahead.
    expect(sqs.receives[0]).toEqual({ max: 10, wait: 10 });
    expect(work.started).toEqual(['m1', 'm2']);
    expect(c.inFlight).toBe(10);
    const receivesBefore = sqs.receives.length;
    work.finish('m1');
    await settle();
    expect(work.started).toEqual(['m1', 'm2', 'm3']);
    expect(work.running.size).toBe(2);
    // No receive was needed: the next message was already here.
    expect(sqs.receives.length).toBe(receivesBefore);
  });

  it('beside a receive in flight, receives again only once a full batch has room: no receives of one or two', async () => {
    sqs.push(20);
    const c = consumer({ concurrency: 20 });
    c.start();
    await settle();
    expect(work.started).toHaveLength(20);
    // A slot frees: a receive for it and the 10 ahead; the queue is empty, so it stays open.
    work.finish('m1');
    await settle();
    expect(sqs.open).toBe(1);
    const receives = sqs.receives.length;
    // Two more free: the other poller waits for the open one rather than receive two.
    work.finish('m2');
    work.finish('m3');
    await settle();
    expect(sqs.receives.length).toBe(receives);
    expect(sqs.receives.every(({ max }) => max === 10)).toBe(true);
    // The open receive fills the free slots.
    sqs.push(5);
    await settle();
    expect(work.started).toHaveLength(23);
    expect(work.running.size).toBe(20);
    expect(c.inFlight).toBe(22);
  });

  it('receives nothing ahead with a limiter: only for its free slots', async () => {
    sqs.push(5);
    const limiter: ReceiveLimiter = { acquire: async (wanted) => wanted };
    const c = consumer({ concurrency: 3, limiter });
    c.start();
    await settle();
    expect(sqs.receives[0]?.max).toBe(3);
    expect(c.inFlight).toBe(3);
    expect(sqs.receives[0]?.wait).toBe(1);
  });

  it('gives back the messages waiting for a slot at once on stop, and never runs them', async () => {
    sqs.push(5);
    const c = consumer({ concurrency: 1 });
    c.start();
    await settle();
    expect(work.started).toEqual(['m1']);
    const stopping = c.stop(5000);
    await settle();
    expect(leases.released.sort()).toEqual(['r2', 'r3', 'r4', 'r5']);
    work.finish('m1');
    expect(await stopping).toBe(0);
    expect(work.started).toEqual(['m1']);
  });

  it('gives a slot to no message that asks for one after stop began', async () => {
    sqs.push(2);
    const c = consumer({ concurrency: 1 });
    c.start();
    await settle();
    const stopping = c.stop(5000);
    work.finish('m1');
    await settle();
    expect(await stopping).toBe(0);
    expect(work.started).toEqual(['m1']);
    expect(leases.released).toEqual(['r2']);
  });

  it('lets its open long poll finish at stop though it holds nothing, and gives back what it brings', async () => {
    const c = consumer({ concurrency: 2 });
    c.start();
    await settle();
    expect(sqs.open).toBe(1);
    let stopped = false;
    const stopping = c.stop(5000).then((left) => {
      stopped = true;
      return left;
    });
    await vi.advanceTimersByTimeAsync(3000);
    // Not abandoned: an abandoned poll would take the next message sent, which nobody would read.
    expect(sqs.open).toBe(1);
    expect(stopped).toBe(false);
    sqs.push(1);
    await settle();
    expect(await stopping).toBe(0);
    expect(sqs.hidden).toEqual([]);
    expect(leases.released).toEqual(['r1']);
    expect(work.started).toEqual([]);
  });

  it('ends its stop when its open long poll ends empty, at the poll’s wait', async () => {
    const c = consumer({ concurrency: 2 });
    c.start();
    await settle();
    let stopped = false;
    const stopping = c.stop(0).then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(9000);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    expect(sqs.open).toBe(0);
    expect(sqs.receives).toHaveLength(1);
  });

  it('does not abandon its open long poll when the last task ends during the stop', async () => {
    sqs.push(1);
    const c = consumer({ concurrency: 2 });
    c.start();
    await settle();
    expect(work.started).toEqual(['m1']);
    await settle();
    expect(sqs.open).toBe(1);
    const stopping = c.stop(5000);
    work.finish('m1');
    await settle();
    // It holds nothing now, and the poll is still open: a message sent now is given back, not hidden.
    sqs.push(1);
    await settle();
    expect(await stopping).toBe(0);
    expect(sqs.hidden).toEqual([]);
    expect(leases.released).toEqual(['r2']);
    expect(work.started).toEqual(['m1']);
  });

  it('lets an open long poll finish before giving messages back, and gives back what it brings', async () => {
    sqs.push(1);
    const c = consumer({ concurrency: 2 });
    c.start();
    await settle();
    // m1 runs; the idle slot has a poll open at SQS.
    expect(work.started).toEqual(['m1']);
    await settle();
    expect(sqs.open).toBe(1);
    let stopped = false;
    const stopping = c.stop(1000).then((left) => {
      stopped = true;
      return left;
    });
    await vi.advanceTimersByTimeAsync(2000);
    // The grace is over, but the poll is still open: nothing given back yet.
    expect(stopped).toBe(false);
    expect(leases.released).toEqual([]);
    sqs.push(1); // the poll takes m2, which must not run
    await settle();
    expect(await stopping).toBe(1);
    expect(leases.released).toEqual(['r2']);
    expect(work.started).toEqual(['m1']);
  });

  it('on a FIFO queue, runs one message of a group at a time, in order, its other groups meanwhile', async () => {
    sqs.push(3, 'a');
    sqs.push(2, 'b');
    const c = consumer({ concurrency: 4, fifo: true });
    c.start();
    await settle();
    // m1..m3 are a's, m4..m5 b's: one of each runs, the rest wait without holding a slot.
    expect(work.started).toEqual(['m1', 'm4']);
    work.finish('m4');
    await settle();
    expect(work.started).toEqual(['m1', 'm4', 'm5']);
    work.finish('m1');
    await settle();
    expect(work.started).toEqual(['m1', 'm4', 'm5', 'm2']);
  });

  it('on a FIFO queue, gives a group’s later messages back with one given back', async () => {
    sqs.push(3, 'a');
    const waiting = tasks();
    const given = new QueueConsumer({
      sqs: sqs.client,
      queue: { url: 'q', visibilityTimeoutSeconds: 30, fifo: true },
      leases: leases.keeper,
      concurrency: 2,
      waitTimeSeconds: 10,
      // The first message is not due yet: it goes back, hidden, and must not be overtaken.
      handle: async (message, lease, turn) => {
        if (message.MessageId === 'm1') return void (await lease.release(60));
        return waiting.handle(message, lease, turn);
      },
    });
    given.start();
    await settle();
    expect(leases.released.sort()).toEqual(['r1', 'r2', 'r3']);
    expect(waiting.started).toEqual([]);
  });

  it('backs off after receive errors, turns unhealthy, and recovers by itself', async () => {
    const c = consumer({ concurrency: 1 });
    const errors: number[] = [];
    let recovered = 0;
    c.on('receive_error', (_error, attempt) => errors.push(attempt));
    c.on('recovered', () => recovered++);
    sqs.fail = new Error('SQS is down');
    c.start();
    await settle();
    expect(c.healthy).toBe(false);
    expect(errors).toEqual([1]);
    // Waits grow: 0.25–0.5 s, then 0.5–1 s, then 1–2 s.
    await vi.advanceTimersByTimeAsync(500);
    expect(errors).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors).toEqual([1, 2, 3]);
    sqs.fail = undefined;
    sqs.push(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(c.healthy).toBe(true);
    expect(recovered).toBe(1);
    expect(work.started).toEqual(['m1']);
  });

  it('fails a receive that never answers at its deadline, and is not stuck meanwhile; not healthy once a second one goes unanswered', async () => {
    const hang = {
      ...sqs.client,
      send: (_c: unknown, o: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) =>
          o.abortSignal?.addEventListener('abort', () => reject(new Error('timed out'))),
        ),
    };
    const c = new QueueConsumer({
      sqs: hang as unknown as SQSClient,
      queue: { url: 'q', visibilityTimeoutSeconds: 30 },
      leases: leases.keeper,
      handle: work.handle,
      concurrency: 1,
      waitTimeSeconds: 10,
    });
    const errors: Error[] = [];
    c.on('receive_error', (error) => errors.push(error));
    c.start();
    await vi.advanceTimersByTimeAsync(14_000);
    expect(errors).toEqual([]);
    expect(c.alive).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(errors).toHaveLength(1);
    // One receive unanswered may be a slow SQS: still healthy, and the next receive waits less.
    expect(c.healthy).toBe(true);
    await vi.advanceTimersByTimeAsync(16_000);
    expect(errors).toHaveLength(2);
    expect(c.healthy).toBe(false);
  });

  it('waits less after a receive went unanswered, and as long as it may again once one is answered', async () => {
    const waits: number[] = [];
    // Only the first receive goes unanswered.
    const slow = {
      ...sqs.client,
      send: (command: ReceiveMessageCommand, o: { abortSignal?: AbortSignal }) => {
        waits.push(command.input.WaitTimeSeconds ?? 0);
        if (waits.length > 1) return sqs.client.send(command, o);
        return new Promise((_resolve, reject) =>
          o.abortSignal?.addEventListener('abort', () => reject(new Error('timed out'))),
        );
      },
    };
    const c = new QueueConsumer({
      sqs: slow as unknown as SQSClient,
      queue: { url: 'q', visibilityTimeoutSeconds: 30 },
      leases: leases.keeper,
      handle: work.handle,
      concurrency: 1,
      waitTimeSeconds: 7,
    });
    c.start();
    await vi.advanceTimersByTimeAsync(15_100);
    expect(c.healthy).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(waits.slice(0, 4)).toEqual([7, 3, 6, 7]);
    expect(waits.slice(3).every((wait) => wait === 7)).toBe(true);
    expect(c.healthy).toBe(true);
    // The stop lets the open poll finish, at its wait.
    const stopping = c.stop(0);
    await vi.advanceTimersByTimeAsync(7_000);
    await stopping;
  });
});
