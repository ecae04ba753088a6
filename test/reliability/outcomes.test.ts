// Where each message ends — done, retried, or dead-lettered with its reason — with the worker
// in this process and SQS (fauxqs) in another. Nothing here waits on a clock: each test waits
// for a state (a metric, an empty queue, a message in the DLQ).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics, type Metrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { REPO, waitFor } from '../support/process.ts';
import { createQueues, depth, receiveAll, remove, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';
import { testTasks } from '../support/tasks.ts';

const naming = { env: 'local', user: 'outcomes' };
const full = (queue: string) => fullQueueName(queue, naming);

/** `add` as a Python producer names it, failing so that our worker retries it. */
const failingAdd = defineTask({
  name: 'add',
  args: z.tuple([z.number(), z.number()]),
  argNames: ['x', 'y'],
  retry: { maxRetries: 5, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run() {
    throw new Error('add is down');
  },
});

let sqs: SqsProcess;
let worker: Worker;
let metrics: Metrics;

const count = async (series: 'workerTasks' | 'consumerTasks', name: string, state: string, queue?: string) => {
  const { values } = await metrics[series].get();
  return values
    .filter(({ labels }) => labels.name === name && labels.state === state && (!queue || labels.queue === queue))
    .reduce((sum, { value }) => sum + value, 0);
};

beforeAll(async () => {
  sqs = await startSqsProcess();
  await createQueues(sqs, ['flaky', 'doomed', 'naps', 'stubborn'].map(full), { visibilityTimeoutSeconds: 30 });
  await createQueues(sqs, [full('slow')], { visibilityTimeoutSeconds: 2 });
  // A long poll aborted at stop can still take a message on the server: keep that short here.
  await createQueues(sqs, [full('py-add')], { visibilityTimeoutSeconds: 2 });
  metrics = createMetrics('outcomes', { defaultMetrics: false });
  worker = await startWorker({
    sqs: sqs.client,
    queues: [
      { queue: 'flaky', task: 'flaky' },
      { queue: 'doomed', task: 'doomed' },
      { queue: 'naps', task: 'nap' },
      { queue: 'slow', task: 'nap' },
      { queue: 'stubborn', task: 'stubborn' },
    ],
    tasks: testTasks,
    naming,
    concurrency: 5,
    metrics,
    log: createLogger('outcomes', 'silent'),
    waitTimeSeconds: 1,
  });
});

afterAll(async () => {
  await worker?.stop(5);
  await sqs?.stop();
});

describe('retries', () => {
  it('runs a task that fails twice three times, then deletes it', async () => {
    await send(sqs, full('flaky'), encodeMessage({ task: 'flaky', args: ['twice', 2], queue: full('flaky') }));
    await waitFor('flaky to succeed', async () =>
      (await count('workerTasks', 'flaky', 'succeeded')) === 1 ? true : undefined,
    );
    expect(await count('workerTasks', 'flaky', 'started')).toBe(3);
    expect(await count('workerTasks', 'flaky', 'failed')).toBe(2);
    expect(await count('workerTasks', 'flaky', 'retried')).toBe(2);
    expect(await depth(sqs, full('flaky'))).toBe(0);
  });

  it('dead-letters a task failing forever after maxRetries + 1 runs, with the body as sent and the reason', async () => {
    const body = encodeMessage({ task: 'doomed', args: ['forever'], queue: full('doomed'), id: 'doomed-1' });
    await send(sqs, full('doomed'), body);
    const [dead] = await receiveAll(sqs, `err-${full('doomed')}`, 1);
    expect(await count('workerTasks', 'doomed', 'started')).toBe(3);
    expect(await count('workerTasks', 'doomed', 'retried')).toBe(2);
    expect(await count('workerTasks', 'doomed', 'dead_lettered')).toBe(1);
    expect(dead?.Body).toBe(body);
    const attributes = Object.fromEntries(
      Object.entries(dead?.MessageAttributes ?? {}).map(([key, value]) => [key, value.StringValue]),
    );
    expect(attributes).toMatchObject({
      error_type: 'Error',
      error_message: 'doomed: forever',
      task: 'doomed',
      task_id: 'doomed-1',
      source_queue: full('doomed'),
      retries: '2',
    });
    expect(Number(attributes.receive_count)).toBeGreaterThanOrEqual(1);
    expect(new Date(attributes.dead_lettered_at ?? '').getTime()).toBeGreaterThan(0);
    await waitFor('doomed to be gone', async () => ((await depth(sqs, full('doomed'))) === 0 ? true : undefined));
  });
});

describe('tasks for later', () => {
  it('sends a task whose eta is ahead back to SQS, delayed, instead of holding it; runs it when due', async () => {
    const started = await count('workerTasks', 'nap', 'started', 'naps');
    const received = await count('consumerTasks', 'nap', 'received', 'naps');
    const eta = new Date(Date.now() + 4000);
    await send(sqs, full('naps'), encodeMessage({ task: 'nap', args: [0], queue: full('naps'), eta, id: 'later' }));
    await waitFor('the first receive', async () =>
      (await count('consumerTasks', 'nap', 'received', 'naps')) > received ? true : undefined,
    );
    // Received, not run, not held: the delayed copy is back in SQS.
    await waitFor('the delayed copy', async () => ((await depth(sqs, full('naps'))) === 1 ? true : undefined));
    expect(await count('workerTasks', 'nap', 'started', 'naps')).toBe(started);
    await waitFor('the task to run', async () =>
      (await count('workerTasks', 'nap', 'succeeded', 'naps')) > started ? true : undefined,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(eta.getTime() - 1000);
  });
});

describe('long and stuck tasks', () => {
  it('keeps a task running past its visibility timeout hidden, so it runs once, and deletes it', async () => {
    await send(sqs, full('slow'), encodeMessage({ task: 'nap', args: [5000], queue: full('slow') }));
    await waitFor('the slow task', async () =>
      (await count('workerTasks', 'nap', 'succeeded', 'slow')) === 1 ? true : undefined,
    );
    await waitFor('its delete', async () =>
      (await count('consumerTasks', 'nap', 'deleted', 'slow')) === 1 ? true : undefined,
    );
    expect(await count('workerTasks', 'nap', 'started', 'slow')).toBe(1);
    expect(await count('consumerTasks', 'nap', 'received', 'slow')).toBe(1);
    expect(await depth(sqs, full('slow'))).toBe(0);
  });

  it('fails a task that ignores its time limit, retries it by its policy, then dead-letters it', async () => {
    await send(sqs, full('stubborn'), encodeMessage({ task: 'stubborn', queue: full('stubborn') }));
    const [dead] = await receiveAll(sqs, `err-${full('stubborn')}`, 1);
    expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('TimeLimitExceededError');
    expect(await count('workerTasks', 'stubborn', 'failed')).toBe(2);
    expect(await count('workerTasks', 'stubborn', 'retried')).toBe(1);
    expect(await count('workerTasks', 'stubborn', 'succeeded')).toBe(0);
  });
});

describe('poison messages', () => {
  const poison: [string, string, string][] = [
    ['not base64', '%%% not base64 %%%', 'DecodeError'],
    ['not JSON', Buffer.from('{"body": nope').toString('base64'), 'DecodeError'],
    ['not a Celery envelope', JSON.stringify({ hello: 'world' }), 'DecodeError'],
    ['an unknown task', encodeMessage({ task: 'no.such.task', args: [], queue: 'naps' }), 'UnknownTaskError'],
    [
      'arguments the schema refuses',
      encodeMessage({ task: 'nap', args: ['soon'], queue: 'naps' }),
      'InvalidArgumentsError',
    ],
  ];

  it.each(poison)('dead-letters %s unchanged, with its reason, and goes on', async (_kind, body, errorType) => {
    const before = await count('workerTasks', 'nap', 'succeeded');
    await send(sqs, full('naps'), body);
    await send(sqs, full('naps'), encodeMessage({ task: 'nap', args: [0], queue: full('naps') }));
    const dead = await receiveAll(sqs, `err-${full('naps')}`, 1);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.Body).toBe(body);
    expect(dead[0]?.MessageAttributes?.error_type?.StringValue).toBe(errorType);
    expect(dead[0]?.MessageAttributes?.source_queue?.StringValue).toBe(full('naps'));
    await waitFor('the next message', async () =>
      (await count('workerTasks', 'nap', 'succeeded')) === before + 1 ? true : undefined,
    );
    await remove(sqs, `err-${full('naps')}`, dead); // for the next case
  });

  it('deletes an expired task without running it, and counts it', async () => {
    const expired = encodeMessage({
      task: 'nap',
      args: [0],
      queue: full('naps'),
      expires: new Date(Date.now() - 60_000),
    });
    const started = await count('workerTasks', 'nap', 'started');
    await send(sqs, full('naps'), expired);
    await waitFor('expired', async () => ((await count('workerTasks', 'nap', 'expired')) === 1 ? true : undefined));
    expect(await count('workerTasks', 'nap', 'started')).toBe(started);
    await waitFor('an empty queue', async () => ((await depth(sqs, full('naps'))) === 0 ? true : undefined));
    expect(await depth(sqs, `err-${full('naps')}`)).toBe(0);
  });
});

describe('a message made by Python Celery, retried by this worker', () => {
  it('is still a Celery message: the headers of Celery’s own retry, retries + 1, an eta', async () => {
    const fixture = async (name: string) =>
      JSON.parse(await readFile(join(REPO, 'test', 'fixtures', 'celery-sqs', `${name}.json`), 'utf8'));
    const original = await fixture('add_args');
    const celeryRetry = await fixture('retry_retries_2');
    // A worker of its own, stopped after the first retry so the copy stays in the queue.
    const retryMetrics = createMetrics('python', { defaultMetrics: false });
    const pyWorker = await startWorker({
      sqs: sqs.client,
      queues: [{ queue: 'py-add', task: 'add' }],
      tasks: [failingAdd],
      naming,
      concurrency: 1,
      metrics: retryMetrics,
      log: createLogger('python', 'silent'),
      waitTimeSeconds: 1,
    });
    await send(sqs, full('py-add'), original.body);
    await waitFor('the retry', async () => {
      const { values } = await retryMetrics.workerTasks.get();
      return values.some(({ labels, value }) => labels.state === 'retried' && value === 1) ? true : undefined;
    });
    await pyWorker.stop(5);

    const [copy] = await receiveAll(sqs, full('py-add'), 1);
    const retried = decodeMessage(copy?.Body ?? '');
    const before = decodeMessage(original.body);
    expect(Object.keys(retried.headers).sort()).toEqual(Object.keys(celeryRetry.decoded.envelope.headers).sort());
    expect(Object.keys(retried.envelope).sort()).toEqual(Object.keys(celeryRetry.decoded.envelope).sort());
    expect(Object.keys(retried.envelope.properties as object).sort()).toEqual(
      Object.keys(celeryRetry.decoded.envelope.properties).sort(),
    );
    expect(retried.headers).toEqual({ ...before.headers, retries: 1, eta: retried.headers.eta });
    expect(retried.headers.eta).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    expect(retried.outerBase64).toBe(true);
    expect([retried.args, retried.kwargs, retried.embed]).toEqual([before.args, before.kwargs, before.embed]);
    expect(copy?.MessageAttributes?.original_body?.StringValue).toBe(original.body);
  });
});
