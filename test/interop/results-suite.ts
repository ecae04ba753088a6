// Results across languages through Celery's Redis result backend, with real Celery and a real
// redis-server: Python's AsyncResult.get() on TypeScript tasks (value, failure, ignore_result),
// TypeScript's get() on Python tasks, and a group Python sends to this worker, collected by
// GroupResult.get(). Run once per wire protocol (results-query.test.ts, results-json.test.ts).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { IntegrationContext, ResultBackend, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { generated, runtime } from '../integrations/support.ts';
import {
  type CeleryEnv,
  type CeleryPython,
  type CeleryWorker,
  celeryPython,
  celeryResults,
  type Protocol,
  startCeleryWorker,
} from '../support/celery.ts';
import { tempDir, waitFor } from '../support/process.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { createQueues, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

type Config = { RESULT_BACKEND_URL?: string; RESULT_EXPIRES_SECONDS: number; RESULT_MAX_BYTES: number };
type ResultsModule = {
  results(config: Config, context: IntegrationContext): Promise<WorkerHooks>;
  resultBackend(config: Config): ResultBackend | undefined;
};
type Runtime = Awaited<ReturnType<typeof runtime>>;

const TEST_TIMEOUT = 90_000;

export function resultsInterop(protocol: Protocol): void {
  const naming = { env: 'local', user: `results-${protocol}` };
  const ran = new Set<string>();
  const tasks = [
    defineTask({
      name: 'ts.add',
      args: z.tuple([z.number(), z.number()]),
      run: ([a, b], ctx) => {
        ran.add(ctx.id);
        return a + b;
      },
    }),
    defineTask({
      name: 'ts.refuse',
      args: z.tuple([z.string()]),
      retry: { maxRetries: 0 },
      run([why]) {
        throw Object.assign(new Error(`refused: ${why}`), { name: 'ValidationError' });
      },
    }),
    defineTask({
      name: 'ts.type',
      args: z.tuple([]),
      retry: { maxRetries: 0 },
      run() {
        // A name that is a Python builtin: Python still sees a class of its own, not builtins.TypeError.
        throw new TypeError('not a number');
      },
    }),
  ];
  const queues = tasks.map(({ name }) => ({ queue: name.replace('.', '-'), task: name }));

  let py: CeleryPython;
  let sqs: SqsProcess;
  let redis: RedisServer;
  let env: CeleryEnv;
  let celery: CeleryWorker | undefined;
  let rt: Runtime;
  let worker: Awaited<ReturnType<Runtime['startWorker']>> | undefined;
  let hooks: WorkerHooks | undefined;
  let producer: InstanceType<Runtime['Producer']>;
  let backend: ResultBackend | undefined;
  const python = (operations: Record<string, unknown>[]) => celeryResults(py, env, operations);

  beforeAll(async () => {
    py = await celeryPython(protocol);
    rt = await runtime();
    const module = await generated<ResultsModule>('src/integrations/results.ts');
    redis = await startRedis();
    sqs = await startSqsProcess({ awsLike: protocol === 'query' });
    const full = (queue: string) => rt.fullQueueName(queue, naming);
    await createQueues(sqs, [...queues.map(({ queue }) => full(queue)), full('py')], { visibilityTimeoutSeconds: 30 });
    env = {
      SQS_ENDPOINT: sqs.endpoint,
      ROUTES: { ...Object.fromEntries(queues.map(({ queue, task }) => [task, full(queue)])), 'py.*': full('py') },
      PY_QUEUE: full('py'),
      HANDOFF_QUEUE: full('ts-add'),
      RESULT_LOG: join(await tempDir('cbw-celery-'), 'runs.jsonl'),
      RESULT_BACKEND: `${redis.url}/1`,
    };
    celery = await startCeleryWorker(py, env);
    const config: Config = {
      RESULT_BACKEND_URL: `${redis.url}/1`,
      RESULT_EXPIRES_SECONDS: 600,
      RESULT_MAX_BYTES: 512 * 1024,
    };
    const metrics = rt.createMetrics('results', { defaultMetrics: false });
    const log = rt.createLogger('results', 'silent');
    hooks = await module.results(config, { name: 'results', prefix: 'results', log, metrics });
    worker = await rt.startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues,
      tasks,
      routes: { 'py.*': 'py' },
      naming,
      concurrency: 5,
      metrics,
      log,
      waitTimeSeconds: 1,
      hooks,
    });
    backend = module.resultBackend(config);
    producer = new rt.Producer(sqs.client, queues, naming, { routes: { 'py.*': 'py' }, results: backend });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await worker?.stop(5);
    await hooks?.close?.();
    await backend?.close();
    await celery?.stop();
    await sqs?.stop();
    await redis?.stop();
  });

  describe(`results through Celery's Redis backend, real Celery over SQS's ${protocol} protocol`, () => {
    it(
      "Python's AsyncResult.get() returns a TypeScript task's value, and raises its failure by its name",
      async () => {
        const [sum, refused, typed] = await python([
          { op: 'send_get', task: 'ts.add', args: [2, 3] },
          { op: 'send_get', task: 'ts.refuse', args: ['no'] },
          { op: 'send_get', task: 'ts.type', args: [] },
        ]);
        expect(sum).toEqual({ value: 5 });
        // Celery makes a class of the TypeScript error's name (its module celery.exceptions).
        expect(refused).toEqual({
          error: { type: 'ValidationError', module: 'celery.exceptions', args: ['refused: no'], str: 'refused: no' },
        });
        expect(typed).toEqual({
          error: { type: 'TypeError', module: 'celery.exceptions', args: ['not a number'], str: 'not a number' },
        });
        // And results of tasks TypeScript sent, read by their ids; one expired before it ran.
        const sent = await producer.send('ts.add', [20, 22]);
        const expired = await producer.send('ts.add', [1, 2], { expires: new Date(Date.now() - 5000) });
        expect(
          await python([
            { op: 'get', id: sent.id },
            { op: 'get', id: expired.id },
          ]),
        ).toEqual([
          { value: 42 },
          { error: { type: 'TaskRevokedError', module: 'celery.exceptions', args: ['expired'], str: 'expired' } },
        ]);
      },
      TEST_TIMEOUT,
    );

    it(
      'ignore_result: the TypeScript task runs and stores nothing; Python sees PENDING',
      async () => {
        const [sent] = await python([{ op: 'send', task: 'ts.add', args: [1, 1], options: { ignore_result: true } }]);
        const id = (sent as { id: string }).id;
        await waitFor('the run', async () => (ran.has(id) ? true : undefined));
        // Then one more task on the same queue, whose result is stored after: the first's store is past.
        const [after] = await python([{ op: 'send_get', task: 'ts.add', args: [0, 1] }]);
        expect(after).toEqual({ value: 1 });
        expect(await redis.cli('-n', '1', 'EXISTS', `celery-task-meta-${id}`)).toBe('0');
        expect(await python([{ op: 'state', id }])).toEqual([{ state: 'PENDING' }]);
      },
      TEST_TIMEOUT,
    );

    it(
      "TypeScript's get() returns a Python task's value, and throws its failure with Celery's exc_type",
      async () => {
        const sum = await producer.send('py.add', [4, 5]);
        expect(await sum.get({ timeoutMs: 60_000 })).toBe(9);
        const failed = await producer.send('py.fail', []);
        const error = await failed.get({ timeoutMs: 60_000 }).catch((caught: unknown) => caught);
        expect(error).toMatchObject({
          name: 'TaskFailedError',
          excType: 'ValueError',
          excModule: 'builtins',
          excMessage: ['py.fail fails on purpose'],
          message: `task ${failed.id} failed: ValueError: py.fail fails on purpose`,
        });
      },
      TEST_TIMEOUT,
    );

    it(
      'a group Python sends, run here and in Python, is collected by GroupResult.get() in order',
      async () => {
        const [collected] = await python([
          {
            op: 'group_get',
            tasks: [
              { task: 'ts.add', args: [1, 2] },
              { task: 'py.add', args: [10, 20] },
              { task: 'ts.add', args: [100, 200] },
              { task: 'py.double', args: [7] },
            ],
            timeout: 60,
          },
        ]);
        expect(collected).toEqual({ value: [3, 30, 300, 14] });
      },
      TEST_TIMEOUT,
    );
  });
}
