// Schedules fired on this machine, for `npm run dev` (scripts/dev.ts): each schedule's message is
// sent at its times as EventBridge Scheduler would send it, filled in as EventBridge fills it in.
// A firing missed (the machine slept) is skipped, as EventBridge does past its window; the flexible
// window is not applied: locally a schedule fires on the minute.
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { fullQueueName, isFifo, type NamingContext } from './naming.ts';
import { nextRuns } from './schedule-expression.ts';
import { fireInput, scheduleInput } from './schedule-message.ts';
import type { ResolvedSchedule } from './schedules.ts';
import { TaskSender } from './sender.ts';
import { resolveQueueUrl } from './sqs.ts';
import { after } from './timing.ts';

/** One firing: the body is the schedule's message as EventBridge fills it in. */
export interface LocalFiring {
  schedule: ResolvedSchedule;
  executionId: string;
  scheduledTime: Date;
  body: string;
}

export interface LocalSchedulesOptions {
  schedules: readonly ResolvedSchedule[];
  /** Sends a firing's body to its queue. A failure is passed to `onError`; the schedule goes on. */
  send(firing: LocalFiring): Promise<void>;
  onError?(firing: LocalFiring, error: unknown): void;
  /** After each firing is sent, with the schedule's next time (none: it has ended). */
  onFired?(firing: LocalFiring, next: Date | undefined): void;
}

export interface LocalSchedules {
  /** Each schedule's next firing (none: it has ended or fires no more). */
  upcoming(): { schedule: ResolvedSchedule; next: Date | undefined }[];
  stop(): void;
}

/**
 * Fires each schedule at its times from now on. A `rate(…)` counts from the schedule's start, or
 * from now (EventBridge counts from the schedule's creation).
 */
export function startLocalSchedules(options: LocalSchedulesOptions): LocalSchedules {
  // To the second, as EventBridge's times are: a rate(…) then fires on whole seconds.
  const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
  const timers = options.schedules.map((schedule) => {
    const state: { next: Date | undefined; cancel: () => void } = { next: undefined, cancel: () => {} };
    const arm = (from: Date) => {
      state.next = nextFiring(schedule, from, startedAt);
      if (state.next === undefined) return;
      const scheduledTime = state.next;
      state.cancel = after(scheduledTime.getTime() - Date.now(), () => {
        // The next one is armed before this one is sent: a slow send never shifts the schedule.
        arm(new Date(Math.max(Date.now(), scheduledTime.getTime())));
        void fire(schedule, scheduledTime, state.next);
      });
    };
    arm(startedAt);
    return { schedule, state };
  });

  const fire = async (schedule: ResolvedSchedule, scheduledTime: Date, next: Date | undefined) => {
    const executionId = randomUUID();
    const body = fireInput(scheduleInput(schedule), { executionId, scheduledTime });
    const firing = { schedule, executionId, scheduledTime, body };
    try {
      await options.send(firing);
      options.onFired?.(firing, next);
    } catch (error) {
      options.onError?.(firing, error);
    }
  };

  return {
    upcoming: () => timers.map(({ schedule, state }) => ({ schedule, next: state.next })),
    stop() {
      for (const { state } of timers) {
        state.cancel();
        state.next = undefined;
      }
    },
  };
}

/**
 * Sends firings to their queues on `sqs`, as EventBridge does: the body as it is, a FIFO queue's
 * message in the task's group. The queue is looked up at each firing: the dev worker may have
 * created it since the last.
 */
export function sendToQueues(sqs: SQSClient, naming: NamingContext): (firing: LocalFiring) => Promise<void> {
  const sender = new TaskSender(sqs);
  return async ({ schedule, executionId, body }) => {
    const queue = fullQueueName(schedule.queue, naming);
    const url = await resolveQueueUrl(sqs, queue);
    await sender.send({ queue, url, id: executionId, body, ...(isFifo(queue) ? { group: schedule.task } : {}) });
  };
}

function nextFiring(schedule: ResolvedSchedule, after: Date, startedAt: Date): Date | undefined {
  const [next] = nextRuns(schedule.expression, {
    timezone: schedule.timezone,
    after,
    count: 1,
    start: schedule.start === undefined ? startedAt : new Date(schedule.start),
    ...(schedule.end !== undefined ? { end: new Date(schedule.end) } : {}),
  });
  return next;
}

/** A time as people in `timezone` read it: 2026-12-08 02:00:00 Europe/Paris. */
export function localTime(time: Date, timezone: string): string {
  const text = new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(time);
  return `${text} ${timezone}`;
}

/** What `npm run dev` says at start: each schedule, and when it fires next. */
export function describeLocalSchedules(list: ReturnType<LocalSchedules['upcoming']>): string[] {
  return list.map(({ schedule, next }) => {
    const when = next ? `next at ${localTime(next, schedule.timezone)}` : 'fires no more (past its end)';
    return `  ${schedule.name}: ${schedule.task} on ${schedule.queue}, ${schedule.expression}, ${when}`;
  });
}
