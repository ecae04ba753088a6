// Tasks for the reliability tests, each with a behaviour to provoke: failing, sleeping, recording
// every run to a file that outlives the process.
import { appendFileSync, existsSync } from 'node:fs';
import { z } from 'zod';
import { NonRetryableError } from '../../templates/worker/src/runtime/errors.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';

const runs = new Map<string, number>();

/** Appends `<id>\n` to $RUN_LOG, if set: the record of what ran, across processes. */
function record(id: string): void {
  if (process.env.RUN_LOG) appendFileSync(process.env.RUN_LOG, `${id}\n`);
}

/** Fails its first `failures` runs (per key, in this process), then succeeds. */
export const flaky = defineTask({
  name: 'flaky',
  args: z.tuple([z.string(), z.number().int()]),
  retry: { maxRetries: 3, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run([key, failures]) {
    const run = (runs.get(key) ?? 0) + 1;
    runs.set(key, run);
    if (run <= failures) throw new Error(`flaky run ${run} of ${key} fails`);
    return run;
  },
});

/** Always fails: ends in the dead-letter queue after maxRetries + 1 runs. */
export const doomed = defineTask({
  name: 'doomed',
  args: z.tuple([z.string()]),
  retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run([why]) {
    throw new Error(`doomed: ${why}`);
  },
});

/** Sleeps `ms` (at most $NAP_MAX_MS, so a second worker can run long naps quickly), then records its id. */
export const nap = defineTask({
  name: 'nap',
  args: z.tuple([z.number().int().min(0)]),
  async run([ms], ctx) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms, Number(process.env.NAP_MAX_MS ?? ms))));
    record(ctx.id);
    return ms;
  },
});

/** When each run of `stubborn` started and ended, in this process. */
export const stubbornRuns: { start: number; end?: number }[] = [];

/** Ignores its signal and overruns its time limit of 1 s, by 2 s. */
export const stubborn = defineTask({
  name: 'stubborn',
  args: z.tuple([]),
  timeLimitSeconds: 1,
  retry: { maxRetries: 1, backoff: 'fixed', baseSeconds: 0, jitter: false },
  async run() {
    const run: { start: number; end?: number } = { start: Date.now() };
    stubbornRuns.push(run);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    run.end = Date.now();
  },
});

/**
 * Ignores its signal for ever (well, $HANG_MS, 60 s by default): given up at its hard limit of 3 s.
 * Records `<id> start` and, if it ever ends, `<id> end`.
 */
export const hang = defineTask({
  name: 'hang',
  args: z.tuple([]),
  timeLimitSeconds: 1,
  hardTimeLimitSeconds: 3,
  retry: { maxRetries: 3, backoff: 'fixed', baseSeconds: 1, jitter: false },
  async run(_args, ctx) {
    record(`${ctx.id} start ${ctx.retries}`);
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.HANG_MS ?? 60_000)));
    record(`${ctx.id} end ${ctx.retries}`);
  },
});

/** Blocks the event loop for `ms` (CPU-bound, never yields), then records its id. */
export const spin = defineTask({
  name: 'spin',
  args: z.tuple([z.number().int().min(0)]),
  run([ms], ctx) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // busy: no await, no timer, no I/O
    }
    record(ctx.id);
    return ms;
  },
});

/**
 * One step of an ordered sequence: records `<group> <index> start <retries>`, sleeps `ms`, then
 * records `<group> <index> end` — or, on its first run when `fails`, `<group> <index> fail` and throws.
 */
export const step = defineTask({
  name: 'step',
  args: z.tuple([z.string(), z.number().int(), z.number().int().min(0), z.boolean()]),
  retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 1, jitter: false },
  async run([group, index, ms, fails], ctx) {
    // A worker started with STEPS_BROKEN=1 stands for one with a bug: every step dead-letters at once.
    if (process.env.STEPS_BROKEN === '1') throw new NonRetryableError(`step ${group} ${index}: broken`);
    // STEPS_BROKEN_UNTIL=<file>: broken so until the file exists (the fix is deployed), in the same process.
    const fixed = process.env.STEPS_BROKEN_UNTIL;
    if (fixed && !existsSync(fixed)) throw new NonRetryableError(`step ${group} ${index}: broken until ${fixed}`);
    record(`${group} ${index} start ${ctx.retries}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (fails && ctx.retries === 0) {
      record(`${group} ${index} fail`);
      throw new Error(`step ${group} ${index} fails once`);
    }
    record(`${group} ${index} end`);
  },
});

/**
 * Returns at once, and leaves behind what nobody handles: a promise that rejects a moment later
 * ("reject"), or a timer that throws ("throw"). Records its id.
 */
export const litter = defineTask({
  name: 'litter',
  args: z.tuple([z.enum(['reject', 'throw'])]),
  run([what], ctx) {
    record(ctx.id);
    if (what === 'reject') {
      void Promise.reject(new Error(`left behind by ${ctx.id}`));
      setTimeout(() => void Promise.reject(new Error(`left behind later by ${ctx.id}`)), 50);
    } else {
      setTimeout(() => {
        throw new Error(`thrown later by ${ctx.id}`);
      }, 50);
    }
    return what;
  },
});

/**
 * An idempotent nap (its key is its task id, kept an hour): sleeps `ms`, then records its side
 * effect, `<id> <pid>`. Needs the idempotency integration (IDEMPOTENCY_MODULE) on its queue.
 */
export const once = defineTask({
  name: 'once',
  args: z.tuple([z.number().int().min(0)]),
  idempotency: { ttlSeconds: 3600 },
  async run([ms], ctx) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    record(`${ctx.id} ${process.pid}`);
    return ms;
  },
});

export const testTasks = [flaky, doomed, nap, stubborn, hang, spin, step, litter, once];
