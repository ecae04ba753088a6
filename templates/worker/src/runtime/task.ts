// A task is a name, an argument schema and a function. The schema runs before the function, so bad
// input never reaches the team's code, and it types `sendTask` for TypeScript producers.
import type { Logger } from 'pino';
import type { z } from 'zod';
import { InvalidArgumentsError } from './errors.ts';
import { checkIdempotencyOptions, type IdempotencyOptions } from './idempotency.ts';
import { taskNameSchema } from './naming.ts';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.ts';

export interface TaskContext {
  /** The Celery task id (stable across retries). */
  id: string;
  /** The task name. */
  name: string;
  /** The short name of the queue it came from. */
  queue: string;
  /** How many times it was retried before this run. */
  retries: number;
  /**
   * Set when a schedule of src/config/schedules.ts sent the task: its name, and the time the firing
   * was due (the same for a second delivery of that firing: key idempotent work on it).
   */
  schedule?: { name: string; scheduledTime: Date };
  /** Aborted when the task's time limit passes: pass it to fetch, timers and clients. */
  signal: AbortSignal;
  log: Logger;
}

/** A schema over the positional arguments: usually `z.tuple([...])`. */
export type ArgsSchema = z.ZodType<unknown[], unknown[]>;

export interface TaskDefinition<Args extends ArgsSchema = ArgsSchema> {
  /** The Celery task name producers use (`send_task('add', …)`). */
  name: string;
  /** Schema of the positional arguments. */
  args: Args;
  /**
   * Names of the positional arguments, so keyword arguments from Python producers
   * (`send_task('add', kwargs={'x': 1, 'y': 2})`) bind to them as Python would.
   */
  argNames?: readonly string[];
  /**
   * Celery's soft time limit: `ctx.signal` aborts after this many seconds, and the run counts as
   * failed (TimeLimitExceededError), retried by its policy once it has returned — never while it
   * still runs.
   */
  timeLimitSeconds?: number;
  /**
   * Celery's hard time limit, for a run that ignores `ctx.signal`: past it the worker gives the run
   * up — the message is retried or dead-lettered as timed out — and restarts its process, which ends
   * the run. `timeLimitSeconds` + 30 by default; none without `timeLimitSeconds`.
   */
  hardTimeLimitSeconds?: number;
  /** How failures are retried; unset fields take `DEFAULT_RETRY`'s (3 retries, exponential from 2 s). */
  retry?: Partial<RetryPolicy>;
  /**
   * Runs once per key: a message whose key (the Celery task id, or `key(args, ctx)`) completed in
   * the last `ttlSeconds` is not run again — its stored result goes to its links and chain — and
   * one whose key a run elsewhere holds waits for it. Needs the `idempotency` integration.
   */
  idempotency?: IdempotencyOptions<z.output<Args>>;
  run(args: z.output<Args>, ctx: TaskContext): unknown;
}

export function defineTask<Args extends ArgsSchema>(definition: TaskDefinition<Args>): TaskDefinition<Args> {
  const name = taskNameSchema.safeParse(definition.name);
  if (!name.success) {
    throw new TypeError(`defineTask: invalid task name "${definition.name}": ${name.error.issues[0]?.message}`);
  }
  const { maxRetries, baseSeconds, maxSeconds } = retryPolicy(definition);
  // A finite maxSeconds: every retry delay becomes an eta and a DelaySeconds.
  const delays = baseSeconds >= 0 && maxSeconds >= baseSeconds && Number.isFinite(maxSeconds);
  if (!(Number.isInteger(maxRetries) && maxRetries >= 0 && delays)) {
    throw new TypeError(
      `defineTask ${definition.name}: retry needs an integer maxRetries ≥ 0 and 0 ≤ baseSeconds ≤ maxSeconds, maxSeconds finite`,
    );
  }
  if (definition.timeLimitSeconds !== undefined && !(definition.timeLimitSeconds > 0)) {
    throw new TypeError(`defineTask ${definition.name}: timeLimitSeconds must be > 0`);
  }
  checkIdempotencyOptions(definition.name, definition.idempotency as IdempotencyOptions | undefined);
  const { soft, hard } = timeLimits(definition);
  if (hard !== undefined && !(hard >= (soft ?? 0) && hard > 0)) {
    throw new TypeError(`defineTask ${definition.name}: hardTimeLimitSeconds must be > 0 and ≥ timeLimitSeconds`);
  }
  return Object.freeze({ ...definition });
}

/** How much longer than its soft time limit a run may go before the worker gives it up. */
export const HARD_LIMIT_MARGIN_SECONDS = 30;

/**
 * The task's soft and hard time limits in seconds (undefined: none). A message's `timelimit` header —
 * Celery's per-call `time_limit` and `soft_time_limit`, in that order — wins over the task's own.
 */
export function timeLimits(
  task: Pick<TaskDefinition, 'timeLimitSeconds' | 'hardTimeLimitSeconds'>,
  perCall?: unknown,
): {
  soft?: number;
  hard?: number;
} {
  const [callHard, callSoft] = Array.isArray(perCall) ? perCall.map(positive) : [];
  const soft = callSoft ?? task.timeLimitSeconds;
  const hard =
    callHard ?? task.hardTimeLimitSeconds ?? (soft === undefined ? undefined : soft + HARD_LIMIT_MARGIN_SECONDS);
  return { soft, hard };
}

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;

/** The task's retry policy, its unset fields filled from `DEFAULT_RETRY`. */
export function retryPolicy(task: Pick<TaskDefinition, 'retry'>): RetryPolicy {
  return { ...DEFAULT_RETRY, ...task.retry };
}

/**
 * Celery's argument binding: keyword arguments fill the named positions after the positional
 * ones, then the schema checks the result.
 */
export function parseArguments<Args extends ArgsSchema>(
  task: TaskDefinition<Args>,
  args: unknown[],
  kwargs: Record<string, unknown>,
): z.output<Args> {
  const bound = bindKeywords(task, args, kwargs);
  const parsed = task.args.safeParse(bound);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.length ? `args[${issue.path.join('][')}]` : 'args'}: ${issue.message}`,
    );
    throw new InvalidArgumentsError(`task ${task.name}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function bindKeywords(task: TaskDefinition, args: unknown[], kwargs: Record<string, unknown>): unknown[] {
  const names = Object.keys(kwargs);
  if (names.length === 0) return args;
  const argNames = task.argNames ?? [];
  const bound: unknown[] = [...args];
  for (const name of names) {
    const index = argNames.indexOf(name);
    if (index === -1) {
      const accepted = argNames.length ? `it accepts ${argNames.join(', ')}` : 'it declares no argNames';
      throw new InvalidArgumentsError(`task ${task.name}: unexpected keyword argument "${name}" (${accepted})`);
    }
    if (index < args.length) {
      throw new InvalidArgumentsError(`task ${task.name}: got multiple values for argument "${name}"`);
    }
    bound[index] = kwargs[name];
  }
  for (let i = 0; i < bound.length; i++) {
    if (!(i in bound)) {
      throw new InvalidArgumentsError(`task ${task.name}: missing argument "${argNames[i]}"`);
    }
  }
  return bound;
}
