// Where each message ends — done, retried, or dead-lettered with its reason — with the worker
// in this process and SQS (fauxqs) in another. Nothing here waits on a clock: each test waits
// for a state (a metric, an empty queue, a message in the DLQ).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { PayloadTooLargeError } from '../../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics, type Metrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { Producer } from '../../templates/worker/src/runtime/producer.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { REPO, waitFor } from '../support/process.ts';
import { createQueues, depth, receiveAll, remove, type SqsProcess, send, startSqsProcess } from '../support/sqs.ts';
import { flaky, stubbornRuns, testTasks } from '../support/tasks.ts';

const naming = { env: 'local', user: 'outcomes' };
/** SQS's size limit before August 2025, still that of the queues made then. */
const OLD_LIMIT = 256 * 1024;
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

/**
 * Holds the event loop past its hard limit of 1 s before its first await, then ends 0.5 s later:
 * given up only if the limit counts from the start of the run, its synchronous part included.
 */
const slowStart = defineTask({
  name: 'slow_start',
  args: z.tuple([]),
  hardTimeLimitSeconds: 1,
  retry: { maxRetries: 1, backoff: 'fixed', baseSeconds: 1, jitter: false },
  run() {
    const until = performance.now() + 1200;
    while (performance.now() < until) {
      // busy: no await, no timer, no I/O
    }
    return new Promise<void>((resolve) => setTimeout(resolve, 500));
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
  // Queues of 256 KiB, as SQS made them before August 2025, dead-letter queue included.
  await createQueues(sqs, [full('big')], { visibilityTimeoutSeconds: 30 });
  for (const name of [full('big'), `err-${full('big')}`]) {
    await sqs.client.send(
      new SetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, name),
        Attributes: { MaximumMessageSize: String(OLD_LIMIT) },
      }),
    );
  }
  metrics = createMetrics('outcomes', { defaultMetrics: false });
  worker = await startWorker({
    sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
    queues: [
      { queue: 'flaky', task: 'flaky' },
      { queue: 'doomed', task: 'doomed' },
      { queue: 'naps', task: 'nap' },
      { queue: 'slow', task: 'nap' },
      { queue: 'stubborn', task: 'stubborn' },
      { queue: 'big', task: 'doomed' },
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
    await waitFor('flaky to be gone', async () => ((await depth(sqs, full('flaky'))) === 0 ? true : undefined));
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

describe('dead letters at the size limit', () => {
  it('still carry their reason when the body leaves no room for it', async () => {
    // The largest body the producer accepts: reason attributes on top of it exceed the queue's 256 KiB.
    const encode = (length: number) =>
      encodeMessage({ task: 'doomed', args: ['x'.repeat(length)], queue: full('big'), id: `big-${length}` });
    const fits = (length: number) => {
      try {
        return Buffer.byteLength(encode(length)) <= OLD_LIMIT;
      } catch {
        return false;
      }
    };
    let length = 100_000;
    while (fits(length + 1000)) length += 1000;
    while (fits(length + 1)) length += 1;
    const body = encode(length);
    expect(OLD_LIMIT - Buffer.byteLength(body)).toBeLessThan(10);
    await send(sqs, full('big'), body);
    const [dead] = await receiveAll(sqs, `err-${full('big')}`, 1);
    expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('Error');
    expect(dead?.MessageAttributes?.error_message?.StringValue).toMatch(/^doomed: x+/);
    expect(dead?.MessageAttributes?.source_queue?.StringValue).toBe(full('big'));
    // The same message (kombu and this worker read it with or without the outer base64 layer).
    expect(decodeMessage(dead?.Body ?? '').id).toBe(`big-${length}`);
    expect(decodeMessage(dead?.Body ?? '').retries).toBe(2);
    expect(decodeMessage(dead?.Body ?? '').args).toEqual(decodeMessage(body).args);
    // Every run the policy allows, and no more: the dead-lettering did not fail and start it again.
    await waitFor('big to be gone', async () => ((await depth(sqs, full('big'))) === 0 ? true : undefined));
    expect(await count('workerTasks', 'doomed', 'started', 'big')).toBe(3);
  });
});

describe('tasks for later', () => {
  it('hides a task whose eta is ahead until then, neither holding nor copying it; runs it when due', async () => {
    const started = await count('workerTasks', 'nap', 'started', 'naps');
    const received = await count('consumerTasks', 'nap', 'received', 'naps');
    const eta = new Date(Date.now() + 4000);
    await send(sqs, full('naps'), encodeMessage({ task: 'nap', args: [0], queue: full('naps'), eta, id: 'later' }));
    await waitFor('the first receive', async () =>
      (await count('consumerTasks', 'nap', 'received', 'naps')) > received ? true : undefined,
    );
    // Received, not run, not held: the same message is back in SQS, hidden, and no copy was made.
    await waitFor('it hidden in SQS', async () => ((await depth(sqs, full('naps'))) === 1 ? true : undefined));
    expect(await count('workerTasks', 'nap', 'started', 'naps')).toBe(started);
    await waitFor('the task to run', async () =>
      (await count('workerTasks', 'nap', 'succeeded', 'naps')) > started ? true : undefined,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(eta.getTime() - 1000);
    expect(await count('consumerTasks', 'nap', 'received', 'naps')).toBe(received + 2);
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

  it('does not record the result of a task whose lease was lost while it ran (its message gone)', async () => {
    const succeeded = await count('workerTasks', 'nap', 'succeeded', 'slow');
    await send(sqs, full('slow'), encodeMessage({ task: 'nap', args: [3000], queue: full('slow') }));
    await waitFor('it to start', async () =>
      (await count('workerTasks', 'nap', 'started', 'slow')) > succeeded ? true : undefined,
    );
    await sqs.client.send(new PurgeQueueCommand({ QueueUrl: await resolveQueueUrl(sqs.client, full('slow')) }));
    // The run goes on (nap ignores its signal); when it ends, its lost lease is counted instead of a success.
    await waitFor('the run to end with its lease lost', async () =>
      (await count('consumerTasks', 'nap', 'lease_lost', 'slow')) === 1 ? true : undefined,
    );
    expect(await count('workerTasks', 'nap', 'succeeded', 'slow')).toBe(succeeded);
  });

  it('fails a task that ignores its time limit, retries it only once the run has ended, then dead-letters it', async () => {
    await send(sqs, full('stubborn'), encodeMessage({ task: 'stubborn', queue: full('stubborn') }));
    const [dead] = await receiveAll(sqs, `err-${full('stubborn')}`, 1);
    expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('TimeLimitExceededError');
    expect(await count('workerTasks', 'stubborn', 'failed')).toBe(2);
    expect(await count('workerTasks', 'stubborn', 'retried')).toBe(1);
    expect(await count('workerTasks', 'stubborn', 'succeeded')).toBe(0);
    // Two runs of 3 s each, one after the other: the retry never overlaps the run it retries.
    expect(stubbornRuns).toHaveLength(2);
    const [first, second] = stubbornRuns;
    expect(first?.end).toBeDefined();
    expect(second?.start).toBeGreaterThanOrEqual(first?.end ?? Number.POSITIVE_INFINITY);
  });
});

describe('messages of up to 1 MiB', () => {
  const bigKey = (bytes: number) => 'k'.repeat(bytes);
  const producer = () => new Producer(sqs.client, [{ queue: 'flaky', task: 'flaky' }], naming);

  it('run a 900 KiB message sent by the TypeScript producer', async () => {
    const before = await count('workerTasks', 'flaky', 'succeeded');
    // flaky(key, 0) succeeds at once; 500 KB of key makes the encoded message about 900 KiB.
    const sent = await producer().send(flaky, [bigKey(500_000), 0]);
    expect(sent.queue).toBe(full('flaky'));
    await waitFor('it to run', async () =>
      (await count('workerTasks', 'flaky', 'succeeded')) === before + 1 ? true : undefined,
    );
  });

  it('run a 900 KiB message shaped as Python Celery sends it (kombu’s envelope, both base64 layers)', async () => {
    const before = await count('workerTasks', 'flaky', 'succeeded');
    const fixture = JSON.parse(await readFile(join(REPO, 'test', 'fixtures', 'celery-sqs', 'add_args.json'), 'utf8'));
    const envelope = structuredClone(fixture.decoded.envelope);
    envelope.headers.task = 'flaky';
    envelope.body = Buffer.from(JSON.stringify([[bigKey(520_000), 0], {}, {}])).toString('base64');
    const body = Buffer.from(JSON.stringify(envelope)).toString('base64');
    expect(Buffer.byteLength(body)).toBeGreaterThan(900 * 1024);
    await send(sqs, full('flaky'), body);
    await waitFor('it to run', async () =>
      (await count('workerTasks', 'flaky', 'succeeded')) === before + 1 ? true : undefined,
    );
  });

  it('refuse one over 1 MiB before sending, saying how big it is and what to do', async () => {
    const error = await producer()
      .send(flaky, [bigKey(600_000), 0])
      .catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toMatch(/over the SQS limit of 1048576 .*send a reference to the data instead/);
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

  it('dead-letters a task whose retries header is negative at once, instead of retrying it for ever', async () => {
    const started = await count('workerTasks', 'doomed', 'started');
    const body = encodeMessage({ task: 'doomed', args: ['loop'], queue: full('doomed'), retries: -1_000_000 });
    await send(sqs, full('doomed'), body);
    const [dead] = await receiveAll(sqs, `err-${full('doomed')}`, 1);
    expect(dead?.Body).toBe(body);
    expect(dead?.MessageAttributes?.error_message?.StringValue).toMatch(/headers\.retries/);
    expect(await count('workerTasks', 'doomed', 'started')).toBe(started);
    await remove(sqs, `err-${full('doomed')}`, [dead as Message]);
  });

  it('labels the metrics of tasks it does not have "<unknown>": made-up names add no series', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `made.up.${i}.${crypto.randomUUID()}`);
    for (const task of names) await send(sqs, full('naps'), encodeMessage({ task, args: [], queue: full('naps') }));
    const dead = await receiveAll(sqs, `err-${full('naps')}`, names.length);
    const { values } = await metrics.workerTasks.get();
    const labelled = new Set(values.map(({ labels }) => labels.name));
    for (const name of names) expect(labelled.has(name)).toBe(false);
    expect(await count('workerTasks', '<unknown>', 'dead_lettered')).toBeGreaterThanOrEqual(names.length);
    for (let start = 0; start < dead.length; start += 10) {
      await remove(sqs, `err-${full('naps')}`, dead.slice(start, start + 10));
    }
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

describe('a run given up at its hard time limit', () => {
  it('marks the worker not alive (/healthz 503), asks for the process to end, and retries it after that', async () => {
    await createQueues(sqs, [full('hangs')], { visibilityTimeoutSeconds: 30 });
    let stuck = '';
    const hangMetrics = createMetrics('hangs', { defaultMetrics: false });
    const hangWorker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues: [{ queue: 'hangs', task: 'hang' }],
      tasks: testTasks,
      naming,
      concurrency: 1,
      metrics: hangMetrics,
      log: createLogger('hangs', 'silent'),
      waitTimeSeconds: 1,
      shutdownGraceSeconds: 1,
      onStuck: (reason) => {
        stuck = reason;
      },
    });
    expect(hangWorker.isAlive()).toBe(true);
    await send(sqs, full('hangs'), encodeMessage({ task: 'hang', queue: full('hangs'), id: 'hung' }));
    await waitFor('the run to be given up', async () => (stuck ? true : undefined));
    expect(stuck).toMatch(/past its hard time limit/);
    expect(hangWorker.isAlive()).toBe(false);
    await hangWorker.stop(1);
    // Its retry is in the queue, delayed until the stop is surely over (the original is deleted).
    await waitFor('the retry', async () => ((await depth(sqs, full('hangs'))) === 1 ? true : undefined));
    const { Attributes } = await sqs.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: await resolveQueueUrl(sqs.client, full('hangs')),
        AttributeNames: ['ApproximateNumberOfMessagesDelayed'],
      }),
    );
    expect(Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    const retried = (await hangMetrics.workerTasks.get()).values.find(({ labels }) => labels.state === 'retried');
    expect(retried?.value).toBe(1);
  }, 60_000);

  it('counts the limit from the start of the run, its synchronous part included', async () => {
    // Timers fire in the order they fall due: the limit, due while the task's synchronous part still
    // ran, gives the run up before the task's own 0.5 s timer ends it. A limit counted only from the
    // end of that part would fall due after it, and the run would succeed.
    await createQueues(sqs, [full('slow-starts')], { visibilityTimeoutSeconds: 30 });
    let stuck = '';
    const startMetrics = createMetrics('slow_starts', { defaultMetrics: false });
    const counted = async (state: string) =>
      (await startMetrics.workerTasks.get()).values.find(({ labels }) => labels.state === state)?.value ?? 0;
    const startsWorker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues: [{ queue: 'slow-starts', task: 'slow_start' }],
      tasks: [slowStart],
      naming,
      concurrency: 1,
      metrics: startMetrics,
      log: createLogger('slow-starts', 'silent'),
      waitTimeSeconds: 1,
      shutdownGraceSeconds: 1,
      onStuck: (reason) => {
        stuck = reason;
      },
    });
    try {
      await send(sqs, full('slow-starts'), encodeMessage({ task: 'slow_start', queue: full('slow-starts') }));
      await waitFor('the run to be given up, or to succeed', async () =>
        stuck || (await counted('succeeded')) > 0 ? true : undefined,
      );
      expect(stuck).toMatch(/past its hard time limit/);
      expect(await counted('succeeded')).toBe(0);
      expect(await counted('failed')).toBe(1);
      expect(await counted('retried')).toBe(1);
    } finally {
      await startsWorker.stop(1);
    }
  }, 60_000);
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
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
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
