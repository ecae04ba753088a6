// What `be-worker schedule ls` prints: each schedule, what it runs, and its next three runs in its
// own time zone (as EventBridge will fire them: its start and end dates included).
import kleur from 'kleur';
import { nextRuns } from '../../templates/worker/src/runtime/schedule-expression.ts';
import { beWorkerCommand } from '../package-manager.ts';
import type { LoadedSchedule } from '../schedules/load.ts';
import { SCHEDULES_FILE } from '../source/schedules-file.ts';

export const NEXT_RUNS = 3;

export interface ListedSchedule extends LoadedSchedule {
  nextRuns: string[];
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
      const next = schedule.nextRuns.map((iso) => wallClock(new Date(iso), timezone)).join(', ');
      return [
        `${kleur.bold(name)}  ${expression} in ${timezone}`,
        `  runs ${task} on queue ${queue}, ${details.join(', ')}`,
        `  next: ${next || 'none (past its end date)'}`,
        ...(schedule.description ? [`  ${kleur.dim(schedule.description)}`] : []),
      ].join('\n');
    })
    .join('\n\n');
}

/** `2030-01-01 03:00`: the time on the clocks of `timezone`. */
function wallClock(date: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(date)
      .map(({ type, value }) => [type, value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}
