// Groups and chords across languages, on Celery's Redis result backend: real Celery (a `celery
// worker` and a Python producer, test/support/celery/chords.py) and this worker, with the `results`
// integration, on one SQS and one real redis-server. A chord's header runs partly here and partly in
// Python; which worker completes it is made certain by its last part (ts.last, py.last), which ends
// only once every other part is counted. One suite, run once per wire protocol
// (chords-query.test.ts: Celery 5.2; chords-json.test.ts: Celery 5.6). A group across languages,
// collected by GroupResult.get(), is in results-suite.ts.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { NonRetryableError } from '../../templates/worker/src/runtime/errors.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import type { ResultBackend } from '../../templates/worker/src/runtime/result-backend.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker, type Worker } from '../../templates/worker/src/runtime/worker.ts';
import {
  type CeleryEnv,
  type CeleryPython,
  type CeleryWorker,
  celeryPython,
  type Protocol,
  pythonRun,
  pythonRuns,
  startCeleryWorker,
} from '../support/celery.ts';
import { REPO, tempDir, waitFor } from '../support/process.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { createQueues, type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const TEST_TIMEOUT = 120_000;
const APP_DIR = join(REPO, 'test', 'support', 'celery');

/** A signature for chords.py. */
interface Spec {
  task: string;
  args?: unknown[];
  id?: string;
  link_error?: Spec;
}
interface ChordIds {
  group: string;
  header: string[];
  body: string;
}
type PyResult =
  | { state: 'SUCCESS'; value: unknown }
  | { state: string; exc_type: string; exc_module: string; message: string };

/** One run of a TypeScript task here. */
interface TsRun {
  task: string;
  id: string;
  args: unknown[];
}

export function chordSuite(protocol: Protocol): void {
  const naming = { env: 'local', user: `chords-${protocol}` };
  const full = (queue: string) => fullQueueName(queue, naming);
  const runs: TsRun[] = [];
  const headers = new Map<string, Readonly<Record<string, unknown>>>();
  let redis: RedisServer;
  let backend: ResultBackend & { close(): Promise<void> };

  const ran = <T>(id: string, task: string, args: unknown[], result: T): T => {
    runs.push({ task, id, args });
    return result;
  };
  /** Ends once every other part of its chord is counted: the chord's last part. */
  const last = async (id: string) => {
    const group = String(headers.get(id)?.group);
    const key = `celery-taskset-meta-${group}`;
    await waitFor(
      `the other parts of chord ${group}`,
      async () => {
        const size = Number(await redis.cli('GET', `${key}.s`));
        return size > 0 && Number(await redis.cli('ZCARD', `${key}.j`)) === size - 1 ? true : undefined;
      },
      60_000,
    );
  };

  const tasks = [
    defineTask({
      name: 'ts.add',
      args: z.tuple([z.number(), z.number()]),
      run: ([a, b], ctx) => ran(ctx.id, ctx.name, [a, b], a + b),
    }),
    defineTask({
      name: 'ts.collect',
      args: z.array(z.unknown()),
      run: (args, ctx) => ran(ctx.id, ctx.name, args, args),
    }),
    defineTask({
      name: 'ts.last',
      args: z.tuple([z.number()]),
      async run([value], ctx) {
        await last(ctx.id);
        return ran(ctx.id, ctx.name, [value], value);
      },
    }),
    defineTask({
      name: 'ts.fail',
      args: z.tuple([z.string()]),
      run([why], ctx) {
        ran(ctx.id, ctx.name, [why], undefined);
        throw new NonRetryableError(`ts.fail: ${why}`);
      },
    }),
    defineTask({
      name: 'ts.record',
      args: z.array(z.unknown()),
      run: (args, ctx) => ran(ctx.id, ctx.name, args, args),
    }),
  ];
  const queues = tasks.map(({ name }) => ({ queue: name.replace('.', '-'), task: name }));

  let py: CeleryPython;
  let sqs: SqsProcess;
  let env: CeleryEnv;
  let celery: CeleryWorker | undefined;
  let worker: Worker | undefined;

  const python = async <T>(operations: unknown[]): Promise<T[]> => {
    const { stdout } = await execa(py.python, ['chords.py', JSON.stringify(operations)], {
      cwd: APP_DIR,
      env: { ...env, ROUTES: JSON.stringify(env.ROUTES), PYTHONDONTWRITEBYTECODE: '1' },
    });
    return JSON.parse(String(stdout)) as T[];
  };
  const chord = async (header: Spec[], body: Spec) => {
    const [ids] = await python<ChordIds>([{ chord: header, body }]);
    return ids as ChordIds;
  };
  /** Python's AsyncResult(id).get(propagate=False). */
  const resultOf = async (id: string) => (await python<PyResult>([{ result: id, timeout: 60 }]))[0] as PyResult;
  const tsRuns = (task: string, id: string) => runs.filter((run) => run.task === task && run.id === id);
  const chordKeysLeft = async (group: string) =>
    Number(await redis.cli('EXISTS', ...['.j', '.t', '.s'].map((end) => `celery-taskset-meta-${group}${end}`)));

  beforeAll(async () => {
    py = await celeryPython(protocol);
    redis = await startRedis();
    const { RedisResultBackend } = (await import(join(inject('allOnWorker'), 'src', 'integrations', 'results.ts'))) as {
      RedisResultBackend: new (config: Record<string, unknown>) => ResultBackend;
    };
    backend = new RedisResultBackend({
      RESULT_BACKEND_URL: redis.url,
      RESULT_EXPIRES_SECONDS: 3600,
      RESULT_MAX_BYTES: 512 * 1024,
    });
    sqs = await startSqsProcess({ awsLike: protocol === 'query' });
    await createQueues(sqs, [...queues.map(({ queue }) => full(queue)), full('py')], { visibilityTimeoutSeconds: 30 });
    env = {
      SQS_ENDPOINT: sqs.endpoint,
      ROUTES: { ...Object.fromEntries(queues.map(({ queue, task }) => [task, full(queue)])), 'py.*': full('py') },
      PY_QUEUE: full('py'),
      HANDOFF_QUEUE: full('py'),
      RESULT_LOG: join(await tempDir('cbw-chords-'), 'runs.jsonl'),
      RESULT_BACKEND: redis.url,
    };
    // Threads: py.last waits in its task while the other Python parts run.
    celery = await startCeleryWorker(py, env, { app: 'chords', cwd: APP_DIR, pool: ['-P', 'threads', '-c', '4'] });
    worker = await startWorker({
      sqs: { region: 'us-east-1', endpoint: sqs.endpoint },
      queues,
      tasks,
      routes: { 'py.*': 'py' },
      naming,
      concurrency: 5,
      metrics: createMetrics('chords', { defaultMetrics: false }),
      log: createLogger('chords', 'silent'),
      waitTimeSeconds: 1,
      hooks: {
        results: backend,
        onTaskEvent(event) {
          if (event.state === 'started' && event.id && event.headers) headers.set(event.id, event.headers);
        },
      },
    });
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await worker?.stop(5);
    await backend?.close();
    await celery?.stop();
    await sqs?.stop();
    await redis?.stop();
  });

  describe(`chords with real Celery ${protocol === 'query' ? '5.2' : '5.6'} on its Redis result backend`, () => {
    it(
      'completes here a chord whose header ran in both languages: the Python body is sent once, with the results in order',
      async () => {
        const ids = await chord(
          [
            { task: 'py.add', args: [1, 2] },
            { task: 'ts.add', args: [3, 4] },
            { task: 'py.add', args: [5, 6] },
            { task: 'ts.last', args: [7] },
          ],
          { task: 'py.collect', args: ['end'] },
        );
        expect(await resultOf(ids.body)).toEqual({ state: 'SUCCESS', value: [[3, 7, 11, 7], 'end'] });
        const body = await pythonRun(env.RESULT_LOG, ids.body);
        expect(body).toMatchObject({ args: [[3, 7, 11, 7], 'end'], parent_id: ids.header[3] });
        expect((await pythonRuns(env.RESULT_LOG)).filter((run) => run.id === ids.body)).toHaveLength(1);
        expect(tsRuns('ts.last', String(ids.header[3]))).toHaveLength(1);
        expect(await chordKeysLeft(ids.group)).toBe(0);
      },
      TEST_TIMEOUT,
    );

    it(
      'runs here the TypeScript body Python sends once its worker completed the chord, with the results in order',
      async () => {
        const ids = await chord(
          [
            { task: 'ts.add', args: [1, 2] },
            { task: 'py.add', args: [3, 4] },
            { task: 'ts.add', args: [5, 6] },
            { task: 'py.last', args: [7] },
          ],
          { task: 'ts.collect', args: ['end'] },
        );
        expect(await resultOf(ids.body)).toEqual({ state: 'SUCCESS', value: [[3, 7, 11, 7], 'end'] });
        expect(tsRuns('ts.collect', ids.body)).toEqual([expect.objectContaining({ args: [[3, 7, 11, 7], 'end'] })]);
        expect(await chordKeysLeft(ids.group)).toBe(0);
      },
      TEST_TIMEOUT,
    );

    it(
      'fails the chord here when a Python member failed: no body, its link_error given the body’s id, ChordError stored',
      async () => {
        const failed = randomUUID();
        const ids = await chord(
          [
            { task: 'ts.add', args: [1, 2] },
            { task: 'py.fail', id: failed },
            { task: 'ts.last', args: [3] },
          ],
          { task: 'py.collect', link_error: { task: 'py.on_error' } },
        );
        const errback = await waitFor('the body’s link_error', async () =>
          (await pythonRuns(env.RESULT_LOG)).find((run) => run.task === 'py.on_error' && run.args[0] === ids.body),
        );
        expect(errback).toMatchObject({ parent_id: ids.body, root_id: ids.body });
        expect(await resultOf(ids.body)).toEqual({
          state: 'FAILURE',
          exc_type: 'ChordError',
          exc_module: 'celery.exceptions',
          message: `Dependency ${failed} raised ValueError('py.fail fails on purpose')`,
        });
        expect((await pythonRuns(env.RESULT_LOG)).some((run) => run.id === ids.body)).toBe(false);
        expect(await chordKeysLeft(ids.group)).toBe(0);
      },
      TEST_TIMEOUT,
    );

    it(
      'has Python fail the chord when a member failed here: no body, its TypeScript link_error run here',
      async () => {
        const failed = randomUUID();
        const ids = await chord(
          [
            { task: 'py.add', args: [1, 2] },
            { task: 'ts.fail', args: ['on purpose'], id: failed },
            { task: 'py.last', args: [3] },
          ],
          { task: 'ts.collect', link_error: { task: 'ts.record', args: ['errback'] } },
        );
        const errback = await waitFor('the body’s link_error', async () =>
          runs.find((run) => run.task === 'ts.record' && run.args[0] === ids.body),
        );
        expect(errback.args).toEqual([ids.body, 'errback']);
        const result = await resultOf(ids.body);
        expect(result).toMatchObject({ state: 'FAILURE', exc_type: 'ChordError' });
        expect('message' in result && result.message).toMatch(
          new RegExp(`^Dependency ${failed} raised NonRetryableError\\('ts.fail: on purpose'\\)`),
        );
        expect(runs.some((run) => run.task === 'ts.collect' && run.id === ids.body)).toBe(false);
      },
      TEST_TIMEOUT,
    );
  });
}
