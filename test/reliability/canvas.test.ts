// Canvas carried out by the worker, TypeScript on both ends: chains across queues, links,
// link_errors, per-call time limits, and what is refused or dead-lettered when a signature cannot
// go on. The worker runs in this process, SQS (fauxqs) in another. (With real Celery workers:
// test/interop/.)
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { NonRetryableError } from '../../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { chain, Producer, sig } from '../../templates/worker/src/runtime/producer.ts';
import { resolveQueueUrl } from '../../templates/worker/src/runtime/sqs.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import { waitFor } from '../support/process.ts';
import { createQueues, receiveAll, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const naming = { env: 'local', user: 'canvas' };
const full = (queue: string) => fullQueueName(queue, naming);

/** What `collect` received, by task id, and the headers each task started with. */
const collected = new Map<string, unknown[]>();
const started = new Map<string, Readonly<Record<string, unknown>>>();
const ran: string[] = [];

const noRetry = { maxRetries: 0 };
const sum = defineTask({
  name: 'sum',
  args: z.tuple([z.number(), z.number()]),
  retry: noRetry,
  run: ([a, b]) => a + b,
});
const double = defineTask({ name: 'double', args: z.tuple([z.number()]), retry: noRetry, run: ([x]) => x * 2 });
const collect = defineTask({
  name: 'collect',
  args: z.array(z.unknown()),
  retry: noRetry,
  run(args, ctx) {
    collected.set(ctx.id, args);
  },
});
const broken = defineTask({
  name: 'broken',
  args: z.tuple([z.string()]),
  run([why], ctx) {
    ran.push(ctx.id);
    throw new NonRetryableError(`broken: ${why}`);
  },
});
/** Waits for its signal (a time limit) at most `ms`. */
const patient = defineTask({
  name: 'patient',
  args: z.tuple([z.number()]),
  retry: noRetry,
  async run([ms], ctx) {
    ran.push(ctx.id);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
    });
  },
});

const QUEUES = [
  { queue: 'sums', task: 'sum' },
  { queue: 'doubles', task: 'double' },
  { queue: 'collects', task: 'collect' },
  { queue: 'brokens', task: 'broken' },
  { queue: 'patients', task: 'patient' },
];
/** `gone.*` routes to a queue that does not exist. */
const ROUTES = { 'gone.*': 'gone' };

let sqs: SqsProcess;
let worker: Worker;
let producer: Producer;

beforeAll(async () => {
  sqs = await startSqsProcess();
  await createQueues(
    sqs,
    QUEUES.map(({ queue }) => full(queue)),
    { visibilityTimeoutSeconds: 30 },
  );
  worker = await startWorker({
    sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
    queues: QUEUES,
    tasks: [sum, double, collect, broken, patient],
    routes: ROUTES,
    naming,
    concurrency: 5,
    metrics: createMetrics('canvas', { defaultMetrics: false }),
    log: createLogger('canvas', 'silent'),
    waitTimeSeconds: 1,
    hooks: {
      onTaskEvent(event) {
        if (event.state === 'started' && event.id && event.headers) started.set(event.id, event.headers);
      },
    },
  });
  producer = new Producer(sqs.client, QUEUES, naming, { routes: ROUTES });
});

afterAll(async () => {
  await worker?.stop(5);
  await sqs?.stop();
});

const collectedAfter = (count: number) =>
  waitFor(`${count} collected`, async () => (collected.size >= count ? [...collected] : undefined));
const reason = async (queue: string) => {
  const [dead] = await receiveAll(sqs, `err-${full(queue)}`, 1);
  return {
    type: dead?.MessageAttributes?.error_type?.StringValue,
    message: dead?.MessageAttributes?.error_message?.StringValue ?? '',
  };
};

describe('a chain', () => {
  it('runs each step on its own queue, each given the result before it, with parent_id and root_id as Celery sets them', async () => {
    collected.clear();
    const sent = await producer.apply(chain(sig(sum, [2, 3]), sig(double), sig(collect, ['done'])));
    const [[lastId, args]] = (await collectedAfter(1)) as [[string, unknown[]]];
    expect(args).toEqual([10, 'done']);
    const last = started.get(lastId) ?? {};
    const middle = started.get(String(last.parent_id)) ?? {};
    expect(middle).toMatchObject({ task: 'double', parent_id: sent.id, root_id: sent.id });
    expect(last).toMatchObject({ task: 'collect', root_id: sent.id });
  });

  it('sends a link with the result, as well as the next step', async () => {
    collected.clear();
    await producer.send(sum, [1, 1], { link: sig(collect, ['linked']) });
    expect((await collectedAfter(1))[0]?.[1]).toEqual([2, 'linked']);
  });
});

describe('a link_error', () => {
  it('is sent with the id of the task that failed for good', async () => {
    collected.clear();
    const sent = await producer.send(broken, ['on purpose'], { linkError: sig(collect) });
    expect((await collectedAfter(1))[0]?.[1]).toEqual([sent.id]);
    expect(await reason('brokens')).toMatchObject({ type: 'NonRetryableError', message: 'broken: on purpose' });
  });
});

describe('a signature that cannot go on', () => {
  it('nothing routes: the task is dead-lettered before it runs, saying why', async () => {
    const sent = await producer.send(broken, ['never'], { link: sig('billing.charge') });
    const { type, message } = await reason('brokens');
    expect(type).toBe('CanvasError');
    expect(message).toMatch(/^not run: nothing routes task "billing\.charge".*src\/config\/routes\.ts/);
    expect(ran).not.toContain(sent.id);
  });

  it('its queue does not exist: the task ran, and is dead-lettered saying its own work is done', async () => {
    collected.clear();
    await producer.send(collect, ['ran'], { link: sig('gone.away') });
    await collectedAfter(1);
    const { type, message } = await reason('collects');
    expect(type).toBe('CanvasSendError');
    expect(message).toMatch(/succeeded and its own work is done.*does not exist/);
  });
});

describe('a canvas too deep to encode', () => {
  it('is dead-lettered at its first delivery, saying why: sending it again would fail the same way', async () => {
    collected.clear();
    // A link whose own links nest 20,000 deep: JSON reads it, but JSON.stringify runs out of stack.
    const depth = 20_000;
    const deep = `${'{"l":['.repeat(depth)}0${']}'.repeat(depth)}`;
    const link = `{"task":"collect","args":[],"kwargs":{},"options":{"link":[${deep}]}}`;
    const id = crypto.randomUUID();
    const body = JSON.parse(
      Buffer.from(encodeMessage({ task: 'collect', args: ['deep'], queue: full('collects'), id }), 'base64').toString(),
    );
    body.body = Buffer.from(
      `[["deep"], {}, {"callbacks": [${link}], "errbacks": null, "chain": null, "chord": null}]`,
    ).toString('base64');
    const url = await resolveQueueUrl(sqs.client, full('collects'));
    await sqs.client.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: Buffer.from(JSON.stringify(body)).toString('base64') }),
    );
    const [dead] = await receiveAll(sqs, `err-${full('collects')}`, 1);
    expect(collected.get(id)).toEqual(['deep']);
    expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('CanvasSendError');
    expect(dead?.MessageAttributes?.error_message?.StringValue).toMatch(/Maximum call stack size exceeded/);
    expect(dead?.MessageAttributes?.receive_count?.StringValue).toBe('1');
    expect(dead?.MessageAttributes?.task_id?.StringValue).toBe(id);
  });
});

describe('a per-call time limit', () => {
  it('overrides the task’s own (none): its signal aborts at 1 s, and the run fails for it', async () => {
    const before = Date.now();
    await producer.send(patient, [20_000], { softTimeLimit: 1 });
    const { type } = await reason('patients');
    expect(type).toBe('TimeLimitExceededError');
    expect(Date.now() - before).toBeLessThan(10_000);
  });
});
