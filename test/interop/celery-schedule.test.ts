// A schedule's message, as EventBridge Scheduler sends it at a firing, run by real Celery: Debian's
// Celery 5.2 (kombu 5.2, SQS's Query protocol, against local-aws-sqs) accepts the raw-JSON body as a
// task, with the execution id as its task id, so a Python worker on that queue could run it too.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { fireInput, scheduleInput } from '../../templates/worker/src/runtime/schedule-message.ts';
import {
  type CeleryEnv,
  type CeleryPython,
  type CeleryWorker,
  celeryPython,
  pythonRun,
  startCeleryWorker,
} from '../support/celery.ts';
import { tempDir } from '../support/process.ts';
import { createQueues, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';

const TIMEOUT = 90_000;
const queue = fullQueueName('py', { env: 'local', user: 'interop-schedule' });

let py: CeleryPython;
let sqs: SqsProcess;
let env: CeleryEnv;
let celery: CeleryWorker | undefined;

beforeAll(async () => {
  py = await celeryPython('query');
  sqs = await startSqsProcess({ awsLike: true });
  await createQueues(sqs, [queue], { visibilityTimeoutSeconds: 30 });
  env = {
    SQS_ENDPOINT: sqs.endpoint,
    ROUTES: {},
    PY_QUEUE: queue,
    HANDOFF_QUEUE: queue,
    RESULT_LOG: join(await tempDir('cbw-celery-schedule-'), 'runs.jsonl'),
  };
  celery = await startCeleryWorker(py, env);
}, TIMEOUT);

afterAll(async () => {
  await celery?.stop();
  await sqs?.stop();
});

describe('a schedule’s message on real Celery 5.2', () => {
  it(
    'runs as the task with its args and kwargs, its id and root id the execution id',
    async () => {
      const input = scheduleInput({
        name: 'nightly.py-add',
        task: 'py.add',
        queue: 'py',
        args: [40],
        kwargs: { b: 2 },
        expression: 'cron(0 2 * * ? *)',
        timezone: 'Europe/Paris',
      });
      const firings = ['d32c5kddcf5bb8c3', 'e43d6leedg6cc9d4'].map((executionId, i) => ({
        executionId,
        scheduledTime: new Date(Date.UTC(2026, 2, 22 + i, 1, 0, 0)),
      }));
      for (const firing of firings) await send(sqs, queue, fireInput(input, firing));
      for (const { executionId } of firings) {
        expect(await pythonRun(env.RESULT_LOG, executionId, 60_000)).toMatchObject({
          task: 'py.add',
          id: executionId,
          args: [40],
          kwargs: { b: 2 },
          result: 42,
          root_id: executionId,
          parent_id: null,
          retries: 0,
        });
      }
    },
    TIMEOUT,
  );
});
