// Real Celery and this worker on one SQS, both directions: Python's send_task runs here, our
// sendTask runs on a `celery worker` process, chains cross the language boundary twice each way,
// link_errors fire both ways, and a Python task's self.retry() is run here. One suite, run once per
// wire protocol (celery-query.test.ts, celery-json.test.ts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NonRetryableError } from '../../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics, type Metrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { chain, Producer, sig } from '../../templates/worker/src/runtime/producer.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import {
  type CeleryEnv,
  type CeleryPython,
  type CeleryWorker,
  celeryPython,
  celerySend,
  type Protocol,
  pythonRun,
  pythonRuns,
  startCeleryWorker,
} from '../support/celery.ts';
import { tempDir, waitFor } from '../support/process.ts';
import { createQueues, receiveAll, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

/** One run of a TypeScript task here, with the Celery headers it started with. */
interface TsRun {
  task: string;
  id: string;
  args: unknown[];
  retries: number;
  result: unknown;
  at: number;
  headers?: Readonly<Record<string, unknown>>;
}

const TEST_TIMEOUT = 60_000;

/** The id each operation sent first. */
const firstIds = async (...args: Parameters<typeof celerySend>) =>
  (await celerySend(...args)).map(([id]) => String(id));

export function interop(protocol: Protocol): void {
  const naming = { env: 'local', user: `interop-${protocol}` };
  const full = (queue: string) => fullQueueName(queue, naming);
  const runs: TsRun[] = [];
  const headers = new Map<string, Readonly<Record<string, unknown>>>();
  const keep = (task: string, id: string, args: unknown[], retries: number, result: unknown) => {
    runs.push({ task, id, args, retries, result, at: Date.now() });
    return result;
  };
  const flakyRuns = new Map<string, number>();

  const tasks = [
    defineTask({
      name: 'ts.add',
      args: z.tuple([z.number(), z.number()]),
      argNames: ['a', 'b'],
      run: ([a, b], ctx) => keep(ctx.name, ctx.id, [a, b], ctx.retries, a + b),
    }),
    defineTask({
      name: 'ts.flaky',
      args: z.tuple([z.string()]),
      retry: { maxRetries: 3, backoff: 'fixed', baseSeconds: 1, jitter: false },
      run([key], ctx) {
        const run = (flakyRuns.get(key) ?? 0) + 1;
        flakyRuns.set(key, run);
        if (run === 1) throw new Error(`ts.flaky ${key} fails its first run`);
        return keep(ctx.name, ctx.id, [key], ctx.retries, run);
      },
    }),
    defineTask({
      name: 'ts.record',
      args: z.array(z.unknown()),
      run: (args, ctx) => keep(ctx.name, ctx.id, args, ctx.retries, args),
    }),
    defineTask({
      name: 'ts.fail',
      args: z.tuple([z.string()]),
      run([why]) {
        throw new NonRetryableError(`ts.fail: ${why}`);
      },
    }),
    defineTask({
      name: 'ts.patient',
      args: z.tuple([z.number()]),
      retry: { maxRetries: 0 },
      async run([ms], ctx) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, ms);
          ctx.signal.addEventListener('abort', () => resolve(clearTimeout(timer)), { once: true });
        });
      },
    }),
    defineTask({
      name: 'shared.handoff',
      args: z.tuple([z.number()]),
      run: ([x], ctx) => keep(ctx.name, ctx.id, [x], ctx.retries, x),
    }),
  ];
  const queues = tasks.map(({ name }) => ({ queue: name.replace('.', '-'), task: name }));

  let py: CeleryPython;
  let sqs: SqsProcess;
  let env: CeleryEnv;
  let celery: CeleryWorker | undefined;
  let worker: Worker | undefined;
  let producer: Producer;
  let metrics: Metrics;

  const tsRun = (find: (run: TsRun) => boolean, what: string) =>
    waitFor(`the TypeScript run of ${what}`, async () => {
      const run = runs.find(find);
      return run && { ...run, headers: headers.get(run.id) };
    });
  const byId = (id: string) => (run: { id: string }) => run.id === id;

  beforeAll(async () => {
    py = await celeryPython(protocol);
    // Query: local-aws-sqs behind the proxy kombu 5.2 needs; JSON: fauxqs.
    sqs = await startSqsProcess({ awsLike: protocol === 'query' });
    await createQueues(sqs, [...queues.map(({ queue }) => full(queue)), full('py')], { visibilityTimeoutSeconds: 30 });
    env = {
      SQS_ENDPOINT: sqs.endpoint,
      ROUTES: {
        ...Object.fromEntries(
          queues.filter(({ task }) => task.startsWith('ts.')).map(({ queue, task }) => [task, full(queue)]),
        ),
        'py.*': full('py'),
      },
      PY_QUEUE: full('py'),
      HANDOFF_QUEUE: full('shared-handoff'),
      RESULT_LOG: join(await tempDir('cbw-celery-'), 'runs.jsonl'),
    };
    celery = await startCeleryWorker(py, env);
    metrics = createMetrics('interop', { defaultMetrics: false });
    worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues,
      tasks,
      routes: { 'py.*': 'py' },
      naming,
      concurrency: 5,
      metrics,
      log: createLogger('interop', 'silent'),
      waitTimeSeconds: 1,
      hooks: {
        onTaskEvent(event) {
          if (event.state === 'started' && event.id && event.headers) headers.set(event.id, event.headers);
        },
      },
    });
    producer = new Producer(sqs.client, queues, naming, { routes: { 'py.*': 'py' } });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await worker?.stop(5);
    await celery?.stop();
    await sqs?.stop();
  });

  describe(`real Celery over SQS's ${protocol} protocol`, () => {
    it(
      'runs what Python send_task sends: args, kwargs, countdown, expires, retries',
      async () => {
        const sentAt = Date.now();
        const [plain, keywords, later, expired, retried] = await firstIds(py, env, [
          { send_task: 'ts.add', args: [2, 3] },
          { send_task: 'ts.add', kwargs: { a: 4, b: 5 } },
          { send_task: 'ts.add', args: [1, 1], options: { countdown: 3 } },
          { send_task: 'ts.add', args: [7, 7], options: { expires_ago: 5 } },
          { send_task: 'ts.flaky', args: ['python'], options: { retries: 1 } },
        ]);
        expect((await tsRun(byId(String(plain)), 'args')).result).toBe(5);
        expect((await tsRun(byId(String(keywords)), 'kwargs')).result).toBe(9);
        // Sent with retries=1, failed once here, then retried by this worker: its third run.
        expect(await tsRun(byId(String(retried)), 'a retried task')).toMatchObject({ retries: 2, result: 2 });
        const { at } = await tsRun(byId(String(later)), 'a countdown');
        expect(at - sentAt).toBeGreaterThanOrEqual(3000);
        const expiredCount = async () =>
          (await metrics.workerTasks.get()).values.find(
            ({ labels }) => labels.name === 'ts.add' && labels.state === 'expired',
          )?.value;
        expect(await waitFor('the expired task', expiredCount)).toBe(1);
        expect(runs.some(byId(String(expired)))).toBe(false);
      },
      TEST_TIMEOUT,
    );

    it(
      'takes the time limits Python gives a call, [hard, soft] as Celery writes them, over the task’s own (none)',
      async () => {
        const sentAt = Date.now();
        const [id] = await firstIds(py, env, [
          { send_task: 'ts.patient', args: [30_000], options: { soft_time_limit: 1, time_limit: 20 } },
        ]);
        const [dead] = await receiveAll(sqs, `err-${full('ts-patient')}`, 1);
        expect(dead?.MessageAttributes?.task_id?.StringValue).toBe(id);
        expect(dead?.MessageAttributes?.error_type?.StringValue).toBe('TimeLimitExceededError');
        expect(dead?.MessageAttributes?.error_message?.StringValue).toMatch(/time limit of 1 s/);
        expect(Date.now() - sentAt).toBeLessThan(15_000);
      },
      TEST_TIMEOUT,
    );

    it(
      `sends tasks a real celery worker (${protocol === 'query' ? '5.2' : '≥ 5.5'}) runs: args, kwargs`,
      async () => {
        const positional = await producer.send('py.add', [2, 3]);
        const keywords = await producer.send('py.add', [], { kwargs: { a: 10, b: 20 } });
        expect((await pythonRun(env.RESULT_LOG, positional.id)).result).toBe(5);
        expect((await pythonRun(env.RESULT_LOG, keywords.id)).result).toBe(30);
      },
      TEST_TIMEOUT,
    );

    it(
      'runs a chain Python → TypeScript → Python started by Python, each step given the result before it',
      async () => {
        const [[first, middle, last] = []] = await celerySend(py, env, [
          {
            chain: [
              { task: 'py.double', args: [3] },
              { task: 'ts.add', args: [4] },
              { task: 'py.record', args: ['end'] },
            ],
          },
        ]);
        const root = String(first);
        expect(await pythonRun(env.RESULT_LOG, root)).toMatchObject({ result: 6, root_id: root });
        const step = await tsRun(byId(String(middle)), 'the middle step');
        expect(step).toMatchObject({ args: [6, 4], result: 10 });
        expect(step.headers).toMatchObject({ parent_id: root, root_id: root });
        const end = await pythonRun(env.RESULT_LOG, String(last));
        expect(end).toMatchObject({ args: [10, 'end'], parent_id: middle, root_id: root });
      },
      TEST_TIMEOUT,
    );

    it(
      'runs a chain TypeScript → Python → TypeScript started by TypeScript, each step given the result before it',
      async () => {
        const { id: root } = await producer.apply(
          chain(sig('ts.add', [1, 2]), sig('py.double'), sig('ts.record', ['end'])),
        );
        expect((await tsRun(byId(root), 'the first step')).result).toBe(3);
        const middle = await waitFor('the Python step', async () =>
          (await pythonRuns(env.RESULT_LOG)).find((run) => run.task === 'py.double' && run.root_id === root),
        );
        expect(middle).toMatchObject({ args: [3], result: 6, parent_id: root });
        const end = await tsRun(
          (run) => run.task === 'ts.record' && headers.get(run.id)?.root_id === root,
          'the last step',
        );
        expect(end).toMatchObject({ args: [6, 'end'] });
        expect(end.headers).toMatchObject({ parent_id: middle.id, root_id: root });
      },
      TEST_TIMEOUT,
    );

    it(
      'fires a link_error both ways, given the id of the task that failed',
      async () => {
        const [failedHere] = await firstIds(py, env, [
          { send_task: 'ts.fail', args: ['on purpose'], link_error: { task: 'py.on_error' } },
        ]);
        const errback = await waitFor('the Python errback', async () =>
          (await pythonRuns(env.RESULT_LOG)).find((run) => run.task === 'py.on_error' && run.parent_id === failedHere),
        );
        expect(errback).toMatchObject({ args: [failedHere], root_id: failedHere });

        const failedThere = await producer.send('py.fail', [], { linkError: sig('ts.record', ['errback']) });
        const ours = await tsRun((run) => run.task === 'ts.record' && run.args[0] === failedThere.id, 'our errback');
        expect(ours.args).toEqual([failedThere.id, 'errback']);
        expect(ours.headers).toMatchObject({ parent_id: failedThere.id });
      },
      TEST_TIMEOUT,
    );

    it(
      'runs the retry of a Python task that called self.retry(queue=…) here',
      async () => {
        const [id] = await firstIds(py, env, [{ send_task: 'shared.handoff', args: [7] }]);
        const there = await pythonRun(env.RESULT_LOG, String(id));
        expect(there.retries).toBe(0);
        const here = await tsRun(byId(String(id)), 'the retry');
        expect(here).toMatchObject({ args: [7], retries: 1, result: 7 });
        expect(here.headers).toMatchObject({ lang: 'py', task: 'shared.handoff' });
      },
      TEST_TIMEOUT,
    );
  });
}
