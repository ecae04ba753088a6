// Metrics of the tasks schedules start, for the alert that a schedule's task has not succeeded
// within its period (docker/prometheus/alerts.yml): what Celery teams watch their beat with.
import type { WorkerHooks } from './hooks.ts';
import type { Metrics } from './metrics.ts';
import { longestInterval } from './schedule-expression.ts';
import type { ResolvedSchedule } from './schedules.ts';

/**
 * Hooks that count the tasks whose message names one of `schedules` in its `schedule` header, and
 * the time of each one's last success. Other names (a schedule since removed) add no series. Each
 * schedule's clock starts now, or at its start date if later: a new process, or a schedule that has
 * not begun, is given one whole period before it counts as late.
 */
export function scheduleMetrics(
  metrics: Metrics,
  schedules: readonly ResolvedSchedule[],
  now: () => number = Date.now,
): WorkerHooks {
  const known = new Set<string>();
  const startedAt = now();
  for (const schedule of schedules) {
    known.add(schedule.name);
    const labels = { schedule: schedule.name };
    const start = schedule.start === undefined ? startedAt : Math.max(startedAt, Date.parse(schedule.start));
    metrics.scheduleLastSuccess.set(labels, start / 1000);
    const interval = intervalSeconds(schedule, startedAt);
    if (interval !== undefined) metrics.scheduleInterval.set(labels, interval);
  }
  return {
    onTaskEvent({ state, headers }) {
      const schedule = headers?.schedule;
      if (typeof schedule !== 'string' || !known.has(schedule)) return;
      metrics.scheduleRuns.inc({ schedule, state });
      if (state === 'succeeded') metrics.scheduleLastSuccess.set({ schedule }, now() / 1000);
    },
  };
}

/** The longest gap between firings plus the flexible window; none for a schedule that has ended or fires once. */
function intervalSeconds(schedule: ResolvedSchedule, now: number): number | undefined {
  if (schedule.end !== undefined && Date.parse(schedule.end) <= now) return undefined;
  const seconds = longestInterval(schedule.expression, schedule.timezone, new Date(now));
  return Number.isFinite(seconds) ? seconds + (schedule.flexibleWindowMinutes ?? 0) * 60 : undefined;
}
