// Periodic tasks (src/config/schedules.ts): each entry is a task, its arguments and when it runs.
// EventBridge Scheduler sends its message to the task's queue (`be-worker provision` creates the
// schedules), and `npm run dev` sends it locally; no beat process runs anywhere. The worker
// resolves the entries at start-up, so a schedule AWS or the task would refuse stops it at once.
import type { z } from 'zod';
import { InvalidArgumentsError, ScheduleError } from './errors.ts';
import type { QueueBinding } from './queues.ts';
import { checkTimeZone, parseScheduleExpression } from './schedule-expression.ts';
import { type ArgsSchema, parseArguments, type TaskDefinition } from './task.ts';

export { ScheduleError } from './errors.ts';
export { fireInput, scheduleInput } from './schedule-message.ts';

export interface ScheduleEntry<Args extends ArgsSchema = ArgsSchema> {
  /** The EventBridge schedule's name: 1 to 64 letters, digits, "-", "_" and ".". */
  name: string;
  task: TaskDefinition<Args>;
  /** The positional arguments, checked against the task's schema. */
  args?: z.input<Args>;
  /** Keyword arguments, bound to the task's `argNames`. */
  kwargs?: Record<string, unknown>;
  /** `cron(minutes hours day-of-month month day-of-week year)` or `rate(value unit)`, as EventBridge takes them. */
  expression: string;
  /** The IANA time zone the cron expression is read in; UTC by default. */
  timezone?: string;
  /** EventBridge may send it up to this many minutes late (1 to 1440), to spread load; none by default. */
  flexibleWindowMinutes?: number;
  /** ISO 8601: no firing before `start` (a rate counts from it) nor after `end`. */
  start?: string;
  end?: string;
  /** The queue, when the task runs from several (src/config/queues.ts). */
  queue?: string;
  description?: string;
}

/** An entry of src/config/schedules.ts, its `args` typed by its task's schema. */
export function schedule<Args extends ArgsSchema>(entry: ScheduleEntry<Args>): ScheduleEntry {
  return entry as unknown as ScheduleEntry;
}

/** A schedule as provisioning and local firing use it: names, not code. */
export interface ResolvedSchedule {
  name: string;
  /** The Celery task name. */
  task: string;
  /** The short queue name, from src/config/queues.ts. */
  queue: string;
  /** The arguments as the message carries them (JSON). */
  args: unknown[];
  kwargs: Record<string, unknown>;
  expression: string;
  timezone: string;
  flexibleWindowMinutes?: number;
  start?: string;
  end?: string;
  description?: string;
}

const NAME = /^[0-9a-zA-Z._-]+$/;
const NAME_MAX = 64;
const DESCRIPTION_MAX = 512;
const FLEXIBLE_WINDOW_MAX = 1440;

/**
 * Checks every entry as EventBridge Scheduler and the worker would (the task is this worker's and
 * runs from a queue, the arguments pass its schema, the expression, time zone, window and dates are
 * valid, names follow EventBridge's rule and are unique); the first problem throws a ScheduleError.
 */
export function resolveSchedules(
  entries: readonly ScheduleEntry[],
  tasks: readonly TaskDefinition[],
  bindings: readonly QueueBinding[],
): ResolvedSchedule[] {
  const seen = new Set<string>();
  return entries.map((entry) => {
    const resolved = resolveOne(entry, tasks, bindings);
    if (seen.has(resolved.name)) {
      throw new ScheduleError(
        `schedule "${resolved.name}": its name is used twice in src/config/schedules.ts; give each schedule a name of its own`,
      );
    }
    seen.add(resolved.name);
    return resolved;
  });
}

function resolveOne(
  entry: ScheduleEntry,
  tasks: readonly TaskDefinition[],
  bindings: readonly QueueBinding[],
): ResolvedSchedule {
  const name = checkName(entry.name);
  const refuse = (field: string, problem: string) => new ScheduleError(`schedule "${name}": ${field} ${problem}`);
  const task = entry.task?.name;
  if (!tasks.some((known) => known === entry.task || known.name === task)) {
    throw refuse('task', `"${task}" is not one of this worker's tasks: register it in src/tasks/index.ts`);
  }
  const queue = queueOf(entry, task, bindings, refuse);
  const { args, kwargs } = checkArguments(entry, refuse);
  const timezone = entry.timezone ?? 'UTC';
  try {
    parseScheduleExpression(entry.expression);
  } catch (error) {
    throw refuse('expression', `"${entry.expression}" is not one EventBridge accepts: ${reason(error)}`);
  }
  try {
    checkTimeZone(timezone);
  } catch (error) {
    throw refuse('timezone', `is one EventBridge refuses: ${reason(error)}`);
  }
  const window = entry.flexibleWindowMinutes;
  if (window !== undefined && !(Number.isInteger(window) && window >= 1 && window <= FLEXIBLE_WINDOW_MAX)) {
    throw refuse(
      'flexibleWindowMinutes',
      `is ${window}: make it a whole number of minutes from 1 to 1440, or leave it out`,
    );
  }
  const start = checkDate(entry.start, 'start', refuse);
  const end = checkDate(entry.end, 'end', refuse);
  if (start !== undefined && end !== undefined && start >= end) {
    throw refuse('end', `(${entry.end}) is not after start (${entry.start}): the schedule would never fire`);
  }
  if (entry.description !== undefined && entry.description.length > DESCRIPTION_MAX) {
    throw refuse('description', `is ${entry.description.length} characters long; EventBridge takes at most 512`);
  }
  return {
    name,
    task,
    queue,
    args,
    kwargs,
    expression: entry.expression,
    timezone,
    ...(window !== undefined ? { flexibleWindowMinutes: window } : {}),
    ...(entry.start !== undefined ? { start: entry.start } : {}),
    ...(entry.end !== undefined ? { end: entry.end } : {}),
    ...(entry.description !== undefined ? { description: entry.description } : {}),
  };
}

type Refuse = (field: string, problem: string) => ScheduleError;

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new ScheduleError(
      'a schedule in src/config/schedules.ts has no name: give it one (letters, digits, "-", "_", ".")',
    );
  }
  if (name.length > NAME_MAX) {
    throw new ScheduleError(
      `schedule "${name}": name is ${name.length} characters long; EventBridge takes at most ${NAME_MAX}: shorten it`,
    );
  }
  if (!NAME.test(name)) {
    const bad = [...new Set(name.replace(/[0-9a-zA-Z._-]/g, ''))].map((c) => JSON.stringify(c)).join(', ');
    throw new ScheduleError(
      `schedule "${name}": name has characters EventBridge refuses (${bad}): use only letters, digits, "-", "_" and "."`,
    );
  }
  return name;
}

/** The short name of the queue the schedule sends to: the task's only one, or the one it names. */
function queueOf(entry: ScheduleEntry, task: string, bindings: readonly QueueBinding[], refuse: Refuse): string {
  const own = bindings.filter((binding) => binding.task === task).map((binding) => binding.queue);
  if (own.length === 0) {
    throw refuse('task', `"${task}" runs from no queue in src/config/queues.ts: add one (be-worker add-queue)`);
  }
  if (entry.queue !== undefined) {
    if (!own.includes(entry.queue)) {
      throw refuse('queue', `"${entry.queue}" does not run task "${task}": use one of ${own.join(', ')}`);
    }
    return entry.queue;
  }
  if (own.length > 1) throw refuse('queue', `is missing: task "${task}" runs from ${own.join(', ')}; name one`);
  return own[0] as string;
}

/** The arguments as the message will carry them (JSON), checked by the task's schema as the worker will. */
function checkArguments(entry: ScheduleEntry, refuse: Refuse): Pick<ResolvedSchedule, 'args' | 'kwargs'> {
  let args: unknown;
  let kwargs: unknown;
  try {
    args = JSON.parse(JSON.stringify(entry.args ?? []));
    kwargs = JSON.parse(JSON.stringify(entry.kwargs ?? {}));
  } catch (error) {
    throw refuse('args', `cannot be sent as JSON (${reason(error)}): use plain values`);
  }
  if (!Array.isArray(args)) throw refuse('args', 'is not a list: give the positional arguments as an array');
  if (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs)) {
    throw refuse('kwargs', 'is not an object: give the keyword arguments as { name: value }');
  }
  try {
    parseArguments(entry.task, args, kwargs as Record<string, unknown>);
  } catch (error) {
    if (!(error instanceof InvalidArgumentsError)) throw error;
    const field = Object.keys(kwargs).length > 0 ? 'args/kwargs' : 'args';
    throw refuse(
      field,
      `are refused by task ${entry.task.name}'s schema (${reason(error).replace(/^task \S+: /, '')}): fix them`,
    );
  }
  return { args, kwargs: kwargs as Record<string, unknown> };
}

function checkDate(value: string | undefined, field: 'start' | 'end', refuse: Refuse): number | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw refuse(field, `"${value}" is not an ISO 8601 date: write it as 2026-01-31 or 2026-01-31T08:00:00Z`);
  }
  return time;
}

function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
}
