// What `be-worker schedule ls` prints: each schedule, what it runs, and its next three runs in its
// own time zone (as EventBridge will fire them: its start and end dates included).
import kleur from 'kleur';
import { nextRuns } from '../../templates/worker/src/runtime/schedule-expression.ts';
import { wallClock } from '../../templates/worker/src/runtime/zoned-time.ts';
import { beWorkerCommand } from '../package-manager.ts';
import type { LoadedSchedule } from '../schedules/load.ts';
import type { SchedulePlan } from '../schedules/provision.ts';
import { SCHEDULES_FILE } from '../source/schedules-file.ts';

export const NEXT_RUNS = 3;

export interface ListedSchedule extends LoadedSchedule {
  nextRuns: string[];
  /** With --env: how EventBridge's copy compares (provision's plan, read only). */
  status?: ScheduleStatus;
}

export type ScheduleStatus =
  | { env: string; state: 'in step' | 'missing' }
  | { env: string; state: 'drifted'; fields: string[] };

/** The worker's schedules in an env: each one's state, and the group's schedules schedules.ts has not. */
export function scheduleStatuses(
  env: string,
  plan: SchedulePlan,
): { of(name: string): ScheduleStatus | undefined; strays: string[] } {
  const byName = new Map(plan.entries.map((entry) => [entry.name, entry]));
  return {
    of(name) {
      const entry = byName.get(name);
      if (!entry) return undefined;
      if (entry.action === 'create') return { env, state: 'missing' };
      if (entry.action === 'update')
        return { env, state: 'drifted', fields: (entry.drift ?? []).map(({ field }) => field) };
      return { env, state: 'in step' };
    },
    strays: plan.entries.filter((entry) => entry.stray || entry.action === 'delete').map(({ name }) => name),
  };
}

/** The line `ls --env` adds under a schedule. */
function statusLine(status: ScheduleStatus): string {
  if (status.state === 'missing') {
    return kleur.yellow(`in ${status.env}: missing; ${beWorkerCommand(`provision --env ${status.env}`)} creates it`);
  }
  if (status.state === 'drifted') {
    return kleur.yellow(
      `in ${status.env}: provisioned, drifted (${status.fields.join(', ')}); ${beWorkerCommand(`provision --env ${status.env} --fix`)} puts it in step`,
    );
  }
  return kleur.green(`in ${status.env}: provisioned, in step`);
}

/** The schedules EventBridge has in the worker's group that schedules.ts does not. */
export function formatStrays(env: string, strays: readonly string[]): string {
  return kleur.yellow(
    `In ${env} but not in ${SCHEDULES_FILE}: ${strays.join(', ')}; ${beWorkerCommand(`provision --env ${env} --prune`)} deletes them.`,
  );
}

export function listSchedules(schedules: readonly LoadedSchedule[], after: Date): ListedSchedule[] {
  return schedules.map((schedule) => ({
    ...schedule,
    nextRuns: nextRuns(schedule.expression, {
      timezone: schedule.timezone,
      after,
      count: NEXT_RUNS,
      ...(schedule.start ? { start: new Date(schedule.start) } : {}),
      ...(schedule.end ? { end: new Date(schedule.end) } : {}),
    }).map((date) => date.toISOString()),
  }));
}

export function formatSchedules(schedules: readonly ListedSchedule[]): string {
  if (schedules.length === 0) {
    return `No schedules in ${SCHEDULES_FILE}; add one with ${beWorkerCommand('schedule add')}.`;
  }
  return schedules
    .map((schedule) => {
      const { name, expression, timezone, task, queue, args, kwargs, flexibleWindowMinutes, start, end } = schedule;
      const details = [
        `args ${JSON.stringify(args)}`,
        ...(Object.keys(kwargs).length ? [`kwargs ${JSON.stringify(kwargs)}`] : []),
        ...(flexibleWindowMinutes ? [`within ${flexibleWindowMinutes} min`] : []),
        ...(start ? [`from ${start}`] : []),
        ...(end ? [`until ${end}`] : []),
      ];
      const next = schedule.nextRuns.map((iso) => wallClockText(new Date(iso), timezone)).join(', ');
      return [
        `${kleur.bold(name)}  ${expression} in ${timezone}`,
        `  runs ${task} on queue ${queue}, ${details.join(', ')}`,
        `  next: ${next || 'none (past its end date)'}`,
        ...(schedule.status ? [`  ${statusLine(schedule.status)}`] : []),
        ...(schedule.description ? [`  ${kleur.dim(schedule.description)}`] : []),
      ].join('\n');
    })
    .join('\n\n');
}

/** `2030-01-01 03:00`: the time on the clocks of `timezone`. */
function wallClockText(date: Date, timezone: string): string {
  return new Date(wallClock(date.getTime(), timezone)).toISOString().slice(0, 16).replace('T', ' ');
}
