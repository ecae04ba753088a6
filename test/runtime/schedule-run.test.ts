// A schedule's message run by the worker: the task sees which schedule sent it and the time it was
// due (ctx.schedule, for idempotent work), its id is the execution id, and every state of the run,
// its retry included, is counted for the schedule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { Producer } from '../../templates/worker/src/runtime/producer.ts';
import { fireInput, scheduleInput } from '../../templates/worker/src/runtime/schedule-message.ts';
import { scheduleMetrics } from '../../templates/worker/src/runtime/schedule-metrics.ts';
import type { ResolvedSchedule } from '../../templates/worker/src/runtime/schedules.ts';
import { defineTask, type TaskContext } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

const naming = { env: 'local', user: 'scheduled' };
const runs: { day: string; id: string; retries: number; schedule: TaskContext['schedule'] }[] = [];
const report = defineTask({
  name: 'reports.daily',
  args: z.tuple([z.string()]),
  retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run([day], ctx) {
    runs.push({ day, id: ctx.id, retries: ctx.retries, schedule: ctx.schedule });
    if (day === 'flaky' && ctx.retries === 0) throw new Error('the first run fails');
  },
});
const queues = [{ queue: 'reports', task: 'reports.daily' }];
const nightly: ResolvedSchedule = {
  name: 'nightly.reports',
  task: 'reports.daily',
  queue: 'reports',
  args: ['flaky'],
  kwargs: {},
  expression: 'cron(0 2 * * ? *)',
  timezone: 'Europe/Paris',
};

let sqs: SqsProcess;
let worker: Worker | undefined;
const metrics = createMetrics('scheduled', { defaultMetrics: false });
beforeAll(async () => {
  sqs = await startSqsProcess();
  await createQueues(sqs, [fullQueueName('reports', naming)]);
  worker = await startWorker({
    sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
    queues,
    tasks: [report],
    naming,
    concurrency: 3,
    metrics,
    log: createLogger('scheduled', 'silent'),
    waitTimeSeconds: 1,
    hooks: scheduleMetrics(metrics, [nightly]),
  });
});
afterAll(async () => {
  await worker?.stop(5);
  await sqs?.stop();
});

describe('a task a schedule sent', () => {
  it('runs with ctx.schedule (its name and due time) and the execution id, its retry too, each state counted for it', async () => {
    const body = fireInput(scheduleInput(nightly), {
      executionId: 'd32c5kddcf5bb8c3',
      scheduledTime: new Date('2026-03-22T01:00:00Z'),
    });
    await send(sqs, fullQueueName('reports', naming), body);
    await new Producer(sqs.client, queues, naming).send(report, ['by hand']);
    await waitFor('the retry and the task sent by hand', async () => (runs.length === 3 ? true : undefined), 30_000);
    const schedule = { name: 'nightly.reports', scheduledTime: new Date('2026-03-22T01:00:00Z') };
    expect(runs.filter(({ day }) => day === 'flaky')).toEqual([
      { day: 'flaky', id: 'd32c5kddcf5bb8c3', retries: 0, schedule },
      { day: 'flaky', id: 'd32c5kddcf5bb8c3', retries: 1, schedule },
    ]);
    expect(runs.find(({ day }) => day === 'by hand')?.schedule).toBeUndefined();
    const counted = await waitFor('the success counted', async () => {
      const values = (await metrics.scheduleRuns.get()).values;
      const byState = Object.fromEntries(
        values.map(({ labels, value }) => [`${labels.schedule} ${labels.state}`, value]),
      );
      return byState['nightly.reports succeeded'] ? byState : undefined;
    });
    expect(counted).toEqual({
      'nightly.reports started': 2,
      'nightly.reports failed': 1,
      'nightly.reports retried': 1,
      'nightly.reports succeeded': 1,
    });
  }, 60_000);
});
