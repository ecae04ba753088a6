// The message a schedule sends (scheduleInput), as EventBridge Scheduler fills it in at a firing
// (fireInput), read by the worker's own codec: a Celery task whose id is the execution id.
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { fireInput, scheduleInput } from '../../templates/worker/src/runtime/schedule-message.ts';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';

const nightly: ResolvedSchedule = {
  name: 'nightly.report_v2',
  task: 'reports.build',
  queue: 'reports',
  args: ['daily', 7],
  kwargs: {},
  expression: 'cron(0 2 * * ? *)',
  timezone: 'Europe/Paris',
};

const firing = { executionId: 'd32c5kddcf5bb8c3', scheduledTime: new Date('2026-03-22T18:59:43.250Z') };

describe('scheduleInput', () => {
  it('is raw JSON holding EventBridge’s placeholders, the same each time (so provisioning sees no drift)', () => {
    const input = scheduleInput(nightly);
    expect(input.startsWith('{')).toBe(true);
    expect(input).toContain('<aws.scheduler.execution-id>');
    expect(input).toContain('<aws.scheduler.scheduled-time>');
    expect(scheduleInput({ ...nightly })).toBe(input);
  });

  it('decodes, once fired, as the task with its args, its id, root id and correlation id the execution id', () => {
    const celery = decodeMessage(fireInput(scheduleInput(nightly), firing));
    expect(celery).toMatchObject({ task: 'reports.build', id: 'd32c5kddcf5bb8c3', args: ['daily', 7], kwargs: {} });
    expect(celery.retries).toBe(0);
    expect(celery.eta).toBeNull();
    expect(celery.expires).toBeNull();
    expect(celery.outerBase64).toBe(false);
    expect(celery.headers).toMatchObject({
      lang: 'ts',
      root_id: 'd32c5kddcf5bb8c3',
      parent_id: null,
      schedule: 'nightly.report_v2',
      scheduled_time: '2026-03-22T18:59:43Z',
    });
    expect(celery.envelope.properties).toMatchObject({ correlation_id: 'd32c5kddcf5bb8c3', delivery_mode: 2 });
  });

  it('gives each firing its own task id, and keeps the placeholders’ text in arguments as it is', () => {
    const tricky: ResolvedSchedule = {
      ...nightly,
      name: 'x',
      args: ['<aws.scheduler.execution-id>', 'quote " and \\ and ünïcødé', { deep: [1, null, true] }],
      kwargs: { when: '<aws.scheduler.scheduled-time>' },
    };
    const input = scheduleInput(tricky);
    const first = decodeMessage(fireInput(input, firing));
    const second = decodeMessage(
      fireInput(input, { executionId: 'a0b1c2d3e4f5a6b7', scheduledTime: new Date('2026-03-22T19:00:43Z') }),
    );
    expect(first.id).not.toBe(second.id);
    expect(second.headers.scheduled_time).toBe('2026-03-22T19:00:43Z');
    for (const celery of [first, second]) {
      expect(celery.args).toEqual(tricky.args);
      expect(celery.kwargs).toEqual(tricky.kwargs);
    }
  });

  it('carries large arguments (10,000 numbers) and no arguments alike', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => i * 3);
    expect(decodeMessage(fireInput(scheduleInput({ ...nightly, args: many }), firing)).args).toEqual(many);
    const none = decodeMessage(fireInput(scheduleInput({ ...nightly, args: [], kwargs: { a: 1 } }), firing));
    expect(none).toMatchObject({ args: [], kwargs: { a: 1 } });
  });
});
