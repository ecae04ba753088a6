// What `be-worker schedule add` asks in a terminal when an argument or flag did not give it: the
// name, the task (from the worker's), the expression, and in a full session the time zone and the
// arguments; each answer checked as it is typed where be-worker can (the expression, the zone).
// The worker's own resolve has the last word on the whole entry. Without a terminal nothing is
// asked: the missing argument or flag is named.
import { checkTimeZone, parseScheduleExpression } from '../../templates/worker/src/runtime/schedule-expression.ts';
import { readIfExists } from '../changes.ts';
import { CancelledError, UserError } from '../errors.ts';
import type { WorkerRepo } from '../repo.ts';
import type { AddScheduleInput } from '../schedules/edit.ts';
import { workerTasks } from '../schedules/edit.ts';
import { SCHEDULES_FILE, scheduleNames } from '../source/schedules-file.ts';
import { askTextOrCancel, brokenRule, clack, interactive } from './ui.ts';

export const NAME_DESCRIPTION =
  "the schedule's name, e.g. nightly-report (EventBridge: letters, digits, - _ ., at most 64)";
export const EXPRESSION_DESCRIPTION =
  'when it runs: cron(min hour day-of-month month day-of-week year) or rate(n unit)';

export interface AddScheduleFlags {
  task?: string;
  args?: string;
  kwargs?: string;
  expression?: string;
  timezone?: string;
  flexibleWindow?: number;
  start?: string;
  end?: string;
  queue?: string;
  description?: string;
}

export async function completeAddSchedule(
  repo: WorkerRepo,
  given: string | undefined,
  flags: AddScheduleFlags,
): Promise<AddScheduleInput> {
  const missing = [
    given === undefined && '<name>',
    flags.task === undefined && '--task',
    flags.expression === undefined && '--expression',
  ].filter((what): what is string => Boolean(what));
  if (missing.length && !interactive) {
    const [first] = missing;
    const what =
      first === '<name>' ? NAME_DESCRIPTION : first === '--task' ? 'the task it runs' : EXPRESSION_DESCRIPTION;
    throw new UserError(
      `missing ${first}: ${what}; pass it as ${first === '<name>' ? 'an argument' : 'a flag'} (nothing is asked without a terminal)`,
    );
  }
  const session = given === undefined;
  const taken = scheduleNames((await readIfExists(repo.root, SCHEDULES_FILE)) ?? 'export const schedules = [];');
  const name =
    given ??
    (await askTextOrCancel({
      message: 'Schedule name',
      placeholder: 'nightly-report',
      validate: (text) =>
        !text
          ? 'type one: "nightly-report", in grey, is only an example'
          : taken.includes(text)
            ? `schedule "${text}" is already in ${SCHEDULES_FILE}`
            : undefined,
    }));
  const task = flags.task ?? (await askTask(repo));
  const expression =
    flags.expression ??
    (await askTextOrCancel({
      message: `Expression: cron(min hour day month weekday year) or rate(n unit)`,
      placeholder: 'rate(1 day)',
      validate: (text) => (text ? brokenRule(() => parseScheduleExpression(text)) : 'type one, e.g. rate(1 day)'),
    }));
  const timezone =
    flags.timezone ??
    (session
      ? await askTextOrCancel({
          message: 'Time zone it runs in (IANA)',
          initial: 'UTC',
          validate: (text) => brokenRule(() => checkTimeZone(text)),
        })
      : undefined);
  const args =
    flags.args ??
    (session
      ? await askTextOrCancel({
          message: "Arguments, a JSON array (the task's schema checks them)",
          initial: '[]',
          validate: (text) => brokenRule(() => parseJson('arguments', text, 'array')),
        })
      : undefined);
  return {
    name,
    task,
    ...(args === undefined ? {} : { args: parseJson('--args', args, 'array') as unknown[] }),
    ...(flags.kwargs === undefined
      ? {}
      : { kwargs: parseJson('--kwargs', flags.kwargs, 'object') as Record<string, unknown> }),
    expression,
    // UTC is the default: written only when a flag asked for it.
    ...(timezone && (flags.timezone !== undefined || timezone !== 'UTC') ? { timezone } : {}),
    ...(flags.flexibleWindow === undefined ? {} : { flexibleWindowMinutes: flags.flexibleWindow }),
    ...(flags.start === undefined ? {} : { start: flags.start }),
    ...(flags.end === undefined ? {} : { end: flags.end }),
    ...(flags.queue === undefined ? {} : { queue: flags.queue }),
    ...(flags.description === undefined ? {} : { description: flags.description }),
  };
}

async function askTask(repo: WorkerRepo): Promise<string> {
  const names = [...(await workerTasks(repo.root)).keys()];
  if (names.length === 0) throw new UserError('this worker has no task to schedule; add one with add-queue first');
  const prompts = await clack();
  const answer = await prompts.select({
    message: 'Task it runs',
    options: names.map((value) => ({ value, label: value })),
  });
  if (prompts.isCancel(answer)) throw new CancelledError('Cancelled; nothing was changed.');
  return String(answer);
}

/** A JSON array or object given as text, or the flag's rule. */
export function parseJson(flag: string, text: string, shape: 'array' | 'object'): unknown {
  const example = shape === 'array' ? `'["daily", 3]'` : `'{"dryRun": true}'`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${flag}: expected a JSON ${shape}, e.g. ${example} (${(error as Error).message})`);
  }
  const isArray = Array.isArray(value);
  if (shape === 'array' ? !isArray : isArray || value === null || typeof value !== 'object') {
    throw new UserError(`${flag}: expected a JSON ${shape}, e.g. ${example}, not ${text}`);
  }
  return value;
}
