// The metrics of tasks schedules start: counted per schedule by their `schedule` header, and the
// time of each one's last success, which the ScheduleLate alert compares with its interval.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { scheduleMetrics } from '../../templates/worker/src/runtime/schedule-metrics.ts';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';
import { requireTools } from '../support/tools.ts';

const at = (iso: string) => Date.parse(iso);
const entry = (name: string, expression: string, more: Partial<ResolvedSchedule> = {}): ResolvedSchedule => ({
  name,
  task: 'add',
  queue: 'adds',
  args: [1, 2],
  kwargs: {},
  expression,
  timezone: 'UTC',
  ...more,
});

const schedules = [
  entry('minutely', 'rate(1 minute)'),
  entry('daily.window', 'cron(30 3 * * ? *)', { timezone: 'Asia/Kolkata', flexibleWindowMinutes: 15 }),
  entry('later', 'rate(7 days)', { start: '2026-06-01T00:00:00Z' }),
  entry('ended', 'rate(1 hour)', { end: '2026-01-01T00:00:00Z' }),
  entry('once', 'at(2026-12-24T18:00:00)'),
];

async function values(metrics: ReturnType<typeof createMetrics>) {
  const gauge = async (metric: typeof metrics.scheduleInterval) =>
    Object.fromEntries((await metric.get()).values.map(({ labels, value }) => [labels.schedule, value]));
  return {
    interval: await gauge(metrics.scheduleInterval),
    lastSuccess: await gauge(metrics.scheduleLastSuccess),
    runs: Object.fromEntries(
      (await metrics.scheduleRuns.get()).values.map(({ labels, value }) => [
        `${labels.schedule} ${labels.state}`,
        value,
      ]),
    ),
  };
}

describe('scheduleMetrics', () => {
  it('starts each schedule’s clock now or at its start, with its longest interval plus its window; none once ended or for at()', async () => {
    const metrics = createMetrics('w', { defaultMetrics: false });
    scheduleMetrics(metrics, schedules, () => at('2026-03-02T10:00:00Z'));
    const { interval, lastSuccess, runs } = await values(metrics);
    expect(interval).toEqual({ minutely: 60, 'daily.window': 86_400 + 15 * 60, later: 7 * 86_400 });
    expect(lastSuccess).toEqual({
      minutely: at('2026-03-02T10:00:00Z') / 1000,
      'daily.window': at('2026-03-02T10:00:00Z') / 1000,
      later: at('2026-06-01T00:00:00Z') / 1000,
      ended: at('2026-03-02T10:00:00Z') / 1000,
      once: at('2026-03-02T10:00:00Z') / 1000,
    });
    expect(runs).toEqual({});
  });

  it('counts the states of tasks whose message names a schedule, and the time of the last success', async () => {
    const metrics = createMetrics('w', { defaultMetrics: false });
    let now = at('2026-03-02T10:00:00Z');
    const hooks = scheduleMetrics(metrics, schedules, () => now);
    const event = (state: 'started' | 'succeeded' | 'failed' | 'retried', headers?: Record<string, unknown>) =>
      hooks.onTaskEvent?.({ state, task: 'add', queue: 'adds', ...(headers ? { headers } : {}) });
    now = at('2026-03-02T10:01:00Z');
    event('started', { schedule: 'minutely' });
    event('failed', { schedule: 'minutely' });
    event('retried', { schedule: 'minutely' });
    now = at('2026-03-02T10:01:07Z');
    event('started', { schedule: 'minutely' });
    event('succeeded', { schedule: 'minutely' });
    // A task sent by hand, by a schedule this worker no longer has, or with a header that is no name.
    event('succeeded');
    event('succeeded', { schedule: 'removed-since' });
    event('succeeded', { schedule: 42 });
    const { lastSuccess, runs } = await values(metrics);
    expect(runs).toEqual({
      'minutely started': 2,
      'minutely failed': 1,
      'minutely retried': 1,
      'minutely succeeded': 1,
    });
    expect(lastSuccess.minutely).toBe(at('2026-03-02T10:01:07Z') / 1000);
    expect(lastSuccess['daily.window']).toBe(at('2026-03-02T10:00:00Z') / 1000);
    expect(Object.keys(lastSuccess)).not.toContain('removed-since');
  });

  it('exposes metrics promtool finds nothing wrong with', async () => {
    await requireTools(['promtool']);
    const metrics = createMetrics('image_resizer', { defaultMetrics: false });
    const hooks = scheduleMetrics(metrics, schedules);
    hooks.onTaskEvent?.({ state: 'succeeded', task: 'add', queue: 'adds', headers: { schedule: 'minutely' } });
    const text = await metrics.registry.metrics();
    expect(text).toContain('image_resizer_schedule_runs_total{schedule="minutely",state="succeeded"} 1');
    expect(text).toMatch(/^image_resizer_schedule_last_success_timestamp_seconds\{schedule="minutely"\} \d+/m);
    expect(text).toContain('image_resizer_schedule_interval_seconds{schedule="minutely"} 60');
    const checked = await execa('promtool', ['check', 'metrics'], { input: text, reject: false, all: true });
    expect(checked.all).toBe('');
    expect(checked.exitCode).toBe(0);
  });
});
