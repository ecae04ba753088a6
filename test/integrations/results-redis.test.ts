// The results integration with a real redis-server: what a worker stores for each outcome, how long,
// what get() reads, and what happens when Redis is down.

import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import type { IntegrationContext, ResultBackend, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { waitFor } from '../support/process.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { count, generated, startTestWorker } from './support.ts';

type Config = { RESULT_BACKEND_URL?: string; RESULT_EXPIRES_SECONDS: number; RESULT_MAX_BYTES: number };
/** templates/integrations/results/files/src/integrations/results.ts, as generated. */
type ResultsModule = {
  results(config: Config, context: IntegrationContext): Promise<WorkerHooks>;
  resultBackend(config: Config): ResultBackend | undefined;
  RedisResultBackend: new (config: Config, options?: object) => ResultBackend;
};

let redis: RedisServer;
let sqsServer: FauxqsServer;
let module: ResultsModule;
const config = (extra: Partial<Config> = {}): Config => ({
  RESULT_BACKEND_URL: `${redis.url}/3`,
  RESULT_EXPIRES_SECONDS: 86_400,
  RESULT_MAX_BYTES: 512 * 1024,
  ...extra,
});
const key = (id: string) => `celery-task-meta-${id}`;
/** What is stored in db 3, as Celery's `result_backend = redis://…/3` reads it. */
const stored = async (id: string) => {
  const json = await redis.cli('-n', '3', 'GET', key(id));
  return json ? JSON.parse(json) : undefined;
};
/** Stops it once, however often called: a test stops its worker before its last checks, and again in finally. */
const once = (stop: () => Promise<void>) => {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= stop();
    return stopped;
  };
};
const message = (id: string, extra: object = {}) =>
  decodeMessage(encodeMessage({ task: 'ts.add', args: [1, 2], queue: 'q', id, ...extra }));

beforeAll(async () => {
  redis = await startRedis();
  sqsServer = await startFauxqs({ port: 0, logger: false });
  module = await generated<ResultsModule>('src/integrations/results.ts');
});

afterAll(async () => {
  await redis?.stop();
  await sqsServer?.stop();
});

describe('the results integration', () => {
  it.each([
    [86_400, 86_400],
    [7, 7],
    [315_360_000, 315_360_000],
    [0, -1],
  ])('keeps a result RESULT_EXPIRES_SECONDS=%i (TTL %i) in the db of the URL', async (expires, ttl) => {
    const backend = new module.RedisResultBackend(config({ RESULT_EXPIRES_SECONDS: expires }));
    try {
      await backend.store(message(`ttl-${expires}`), { state: 'SUCCESS', value: 3 });
      const left = Number(await redis.cli('-n', '3', 'TTL', key(`ttl-${expires}`)));
      expect(left).toBeLessThanOrEqual(ttl);
      expect(left).toBeGreaterThanOrEqual(ttl === -1 ? -1 : ttl - 5);
      expect(await backend.meta(`ttl-${expires}`)).toMatchObject({ status: 'SUCCESS', result: 3 });
    } finally {
      await backend.close();
    }
  });

  it('never overwrites a stored success (a duplicate run that fails), as Celery does', async () => {
    const backend = new module.RedisResultBackend(config());
    try {
      await backend.store(message('final'), { state: 'SUCCESS', value: 'first' });
      await backend.store(message('final'), { state: 'FAILURE', error: new Error('duplicate') });
      await backend.store(message('final'), { state: 'SUCCESS', value: 'second' });
      expect(await stored('final')).toMatchObject({ status: 'SUCCESS', result: 'first' });
      // A failure, though, is replaced by a later success (a run after the failure was stored).
      await backend.store(message('then-ok'), { state: 'FAILURE', error: new Error('once') });
      await backend.store(message('then-ok'), { state: 'SUCCESS', value: 'ok' });
      expect(await stored('then-ok')).toMatchObject({ status: 'SUCCESS', result: 'ok' });
    } finally {
      await backend.close();
    }
  });

  it('with ignore_result stores no success, but still the failure (Celery stores errors regardless)', async () => {
    const backend = new module.RedisResultBackend(config());
    try {
      await backend.store(message('quiet-ok', { ignoreResult: true }), { state: 'SUCCESS', value: 1 });
      await backend.store(message('quiet-fail', { ignoreResult: true }), { state: 'FAILURE', error: new Error('x') });
      expect(await stored('quiet-ok')).toBeUndefined();
      expect(await stored('quiet-fail')).toMatchObject({ status: 'FAILURE' });
    } finally {
      await backend.close();
    }
  });

  it('waitFor gives up with a ResultTimeoutError, and resolves when the result is published', async () => {
    const backend = new module.RedisResultBackend(config());
    try {
      await expect(backend.waitFor('never', { timeoutMs: 300 })).rejects.toMatchObject({ name: 'ResultTimeoutError' });
      const waiting = backend.waitFor('later', { timeoutMs: 60_000 });
      await waitFor('the subscription', async () =>
        (await redis.cli('PUBSUB', 'NUMSUB', key('later'))).endsWith('\n1') ? true : undefined,
      );
      await backend.store(message('later'), { state: 'SUCCESS', value: [1, 'a'] });
      expect(await waiting).toMatchObject({ status: 'SUCCESS', result: [1, 'a'], task_id: 'later' });
    } finally {
      await backend.close();
    }
  });

  it('stores what a worker’s tasks end with: value, final failure, nothing while retrying; get() reads each', async () => {
    let gate: () => void = () => {};
    const opened = new Promise<void>((resolve) => {
      gate = resolve;
    });
    let flakyRuns = 0;
    const tasks = [
      defineTask({ name: 'ts.add', args: z.tuple([z.number(), z.number()]), run: ([a, b]) => a + b }),
      defineTask({
        name: 'ts.refuse',
        args: z.tuple([z.string()]),
        retry: { maxRetries: 1, backoff: 'fixed', baseSeconds: 0, jitter: false },
        run([why]) {
          throw Object.assign(new Error(`refused: ${why}`), { name: 'ValidationError' });
        },
      }),
      defineTask({
        name: 'ts.flaky',
        args: z.tuple([]),
        retry: { maxRetries: 2, backoff: 'fixed', baseSeconds: 0, jitter: false },
        async run() {
          flakyRuns++;
          if (flakyRuns === 1) throw new Error('first run fails');
          await opened;
          return 'second run';
        },
      }),
      defineTask({ name: 'ts.nothing', args: z.tuple([]), run: () => undefined }),
    ];
    const backend = module.resultBackend(config());
    const worker = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'results',
      queues: tasks.map(({ name }) => ({ queue: name.replace('.', '-'), task: name })),
      tasks,
      integration: (context) => module.results(config(), context),
      producer: { results: backend },
    });
    const stop = once(worker.stop);
    try {
      const sum = await worker.producer.send('ts.add', [2, 3]);
      expect(await sum.get({ timeoutMs: 30_000 })).toBe(5);
      expect(await stored(sum.id)).toEqual({
        status: 'SUCCESS',
        result: 5,
        traceback: null,
        children: [],
        date_done: expect.any(String),
        task_id: sum.id,
      });
      expect(await (await worker.producer.send('ts.nothing', [])).get({ timeoutMs: 30_000 })).toBeNull();

      const refused = await worker.producer.send('ts.refuse', ['no']);
      const error = await refused.get({ timeoutMs: 30_000 }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({
        name: 'TaskFailedError',
        excType: 'ValidationError',
        excMessage: ['refused: no'],
        excModule: 'typescript',
      });
      // Stored once, after its last retry: the first failure stored nothing.
      expect(await count(worker.metrics, { name: 'ts.refuse', state: 'failed' })).toBe(2);

      const flaky = await worker.producer.send('ts.flaky', []);
      await waitFor('the retry to run', async () => (flakyRuns === 2 ? true : undefined));
      expect(await stored(flaky.id)).toBeUndefined();
      gate();
      expect(await flaky.get({ timeoutMs: 30_000 })).toBe('second run');

      // Sent with arguments its schema refuses: dead-lettered without a run, and its failure stored.
      const invalid = await worker.producer.send('ts.add', ['two', 3]);
      await expect(invalid.get({ timeoutMs: 30_000 })).rejects.toMatchObject({ excType: 'InvalidArgumentsError' });

      // Expired before it ran: REVOKED, as Celery's worker stores it.
      const expired = await worker.producer.send('ts.add', [5, 5], { expires: new Date(Date.now() - 5000) });
      await expect(expired.get({ timeoutMs: 30_000 })).rejects.toMatchObject({
        state: 'REVOKED',
        excType: 'TaskRevokedError',
        excModule: 'celery.exceptions',
        excMessage: ['expired'],
      });

      const quiet = await worker.producer.send('ts.add', [1, 1], { ignoreResult: true });
      await waitFor('the quiet run', async () =>
        (await count(worker.metrics, { name: 'ts.add', state: 'succeeded' })) === 2 ? true : undefined,
      );
      // A stop waits for what is in flight, its store included.
      await stop();
      expect(await stored(quiet.id)).toBeUndefined();
    } finally {
      await stop();
      await backend?.close();
    }
  }, 90_000);

  it('when Redis is down: the run is not repeated, the message is deleted, the lost result is counted', async () => {
    const down = await startRedis();
    await down.stop();
    let runs = 0;
    const tasks = [
      defineTask({
        name: 'ts.once',
        args: z.tuple([]),
        run: () => {
          runs++;
          return 'done';
        },
      }),
    ];
    const worker = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'resultsdown',
      queues: [{ queue: 'ts-once', task: 'ts.once' }],
      tasks,
      integration: (context) => module.results(config({ RESULT_BACKEND_URL: `${down.url}/0` }), context),
    });
    const stop = once(worker.stop);
    try {
      await worker.producer.send('ts.once', []);
      const lost = async () =>
        (await worker.metrics.registry.getSingleMetric('resultsdown_results_store_failures_total')?.get())?.values;
      await waitFor('the lost result', async () => ((await lost())?.length ? true : undefined));
      // A stop flushes the deletes in flight.
      await stop();
      expect(await lost()).toEqual([expect.objectContaining({ labels: { name: 'ts.once' }, value: 1 })]);
      const consumed = await worker.metrics.consumerTasks.get();
      expect(consumed.values.find(({ labels }) => labels.state === 'deleted')?.value).toBe(1);
      expect(runs).toBe(1);
    } finally {
      await stop();
    }
  }, 60_000);

  it('a producer without a result backend: get() says what it needs', async () => {
    const tasks = [defineTask({ name: 'ts.plain', args: z.tuple([]), run: () => 1 })];
    const worker = await startTestWorker({
      endpoint: sqsServer.address,
      name: 'noresults',
      queues: [{ queue: 'ts-plain', task: 'ts.plain' }],
      tasks,
      integration: (context) => module.results(config({ RESULT_BACKEND_URL: undefined }), context),
    });
    const stop = once(worker.stop);
    try {
      const sent = await worker.producer.send('ts.plain', []);
      await expect(sent.get()).rejects.toMatchObject({
        name: 'NoResultBackendError',
        message: expect.stringMatching(/--with results.*RESULT_BACKEND_URL/),
      });
    } finally {
      await stop();
    }
  }, 60_000);
});
