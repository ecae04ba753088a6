// The message a schedule sends: the Celery task exactly as kombu puts it on the queue, with
// EventBridge Scheduler's placeholders where each firing differs. EventBridge substitutes them in
// the target's Input at each firing; `npm run dev` does the same (fireInput).
import { encodeMessage } from './codec.ts';
import type { ResolvedSchedule } from './schedules.ts';
import type { TaskContext } from './task.ts';

/** EventBridge Scheduler's context attributes: replaced by their value at each firing. */
export const EXECUTION_ID = '<aws.scheduler.execution-id>';
export const SCHEDULED_TIME = '<aws.scheduler.scheduled-time>';

/** Celery's `origin` header of a scheduled task: who sent it. */
const ORIGIN = 'eventbridge-scheduler';

/**
 * The Celery message (protocol 2, the producer's codec) of a schedule's task. The outer layer is raw
 * JSON, which kombu and this worker read as well as base64, so that EventBridge can substitute its
 * placeholders: the task id, root id and correlation id are the execution id, and the headers say
 * which schedule sent it (`schedule`) for which time (`scheduled_time`). The arguments stay in
 * the base64 inner body, out of the substitution's reach. The same schedule gives the same text,
 * byte for byte, so provisioning can tell a changed schedule from an unchanged one.
 */
export function scheduleInput(schedule: ResolvedSchedule): string {
  const body = encodeMessage({
    task: schedule.task,
    args: schedule.args,
    kwargs: schedule.kwargs,
    queue: schedule.queue,
    id: EXECUTION_ID,
    headers: { origin: ORIGIN, schedule: schedule.name, scheduled_time: SCHEDULED_TIME },
    outerBase64: false,
  });
  // What encodeMessage makes new for each message is made fixed here: nobody replies to a
  // schedule, and kombu replaces the delivery tag with the receipt handle on receipt anyway.
  const envelope = JSON.parse(body) as { properties: Record<string, unknown> };
  envelope.properties.reply_to = null;
  envelope.properties.delivery_tag = EXECUTION_ID;
  return JSON.stringify(envelope);
}

/** What EventBridge Scheduler does to a schedule's Input at a firing (local firing and tests). */
export function fireInput(input: string, firing: { executionId: string; scheduledTime: Date }): string {
  return input
    .replaceAll(EXECUTION_ID, firing.executionId)
    .replaceAll(SCHEDULED_TIME, schedulerTime(firing.scheduledTime));
}

/** A time as EventBridge writes its scheduled time: ISO 8601 in UTC, to the second (2022-03-22T18:59:43Z). */
function schedulerTime(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The schedule that sent a message, from its headers: none for a task sent otherwise. */
export function scheduleOf(headers: Readonly<Record<string, unknown>>): TaskContext['schedule'] {
  const { schedule: name, scheduled_time: time } = headers;
  if (typeof name !== 'string' || typeof time !== 'string') return undefined;
  const scheduledTime = new Date(time);
  return Number.isNaN(scheduledTime.getTime()) ? undefined : { name, scheduledTime };
}
