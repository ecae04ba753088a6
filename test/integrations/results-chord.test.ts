// The chord counter of the `results` integration (results-chord.ts) on a real redis-server, kept
// as Celery's Redis backend keeps it (celery-taskset-meta-<group>.j/.t/.s): the part that completes
// the chord gets the results ordered by group_index, or the first part that failed; and a part
// delivered again (its worker died after counting it, before deleting its message) counts once —
// shown on the counter, and with workers whose deletes are lost (test/support/faulty-network.ts).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { type CeleryMessage, decodeMessage, encodeMessage } from '../../templates/worker/src/runtime/codec.ts';
import { createLogger } from '../../templates/worker/src/runtime/logger.ts';
import { createMetrics } from '../../templates/worker/src/runtime/metrics.ts';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { sig } from '../../templates/worker/src/runtime/producer.ts';
import type { ResultBackend } from '../../templates/worker/src/runtime/result-backend.ts';
import { defineTask } from '../../templates/worker/src/runtime/task.ts';
import { startWorker } from '../../templates/worker/src/runtime/worker.ts';
import { startFaultyNetwork } from '../support/faulty-network.ts';
import { freePort, waitFor } from '../support/process.ts';
import { type RedisServer, startRedis } from '../support/redis.ts';
import { createQueues, depth, send, startSqsProcess } from '../support/sqs.ts';

type Backend = ResultBackend & Required<Pick<ResultBackend, 'chordPartReturn' | 'chordDone'>>;

let redis: RedisServer;
/** A result backend as the worker's integration makes it (a failed store is given up, not thrown). */
let connect: (expiresSeconds: number, url?: string) => Backend;
const opened: Backend[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const { RedisResultBackend } = (await import(join(inject('allOnWorker'), 'src', 'integrations', 'results.ts'))) as {
    RedisResultBackend: new (config: Record<string, unknown>, options: { onStoreFailed(): void }) => Backend;
  };
  connect = (expiresSeconds, url = redis.url) => {
    const config = { RESULT_BACKEND_URL: url, RESULT_EXPIRES_SECONDS: expiresSeconds, RESULT_MAX_BYTES: 512 * 1024 };
    const backend = new RedisResultBackend(config, { onStoreFailed() {} });
    opened.push(backend);
    return backend;
  };
});

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  await redis?.stop();
});

/** A chord of `size` parts, as Python's `chord(...).apply_async()` leaves it: its size under .s. */
async function chordOf(size: number) {
  const group = randomUUID();
  await redis.cli('SET', `celery-taskset-meta-${group}.s`, String(size));
  const part = (groupIndex: number | null, id = randomUUID()): CeleryMessage =>
    decodeMessage(
      encodeMessage({ task: 'ts.add', id, queue: 'q', group, groupIndex, embed: { chord: sig('py.sum') } }),
    );
  return { group, part };
}
const ok = (value: unknown) => ({ state: 'SUCCESS' as const, value });

describe('the chord counter on Redis', () => {
  it('completes a chord once, for the part that comes last, with the results in group_index order', async () => {
    const counter = connect(86_400);
    for (const size of [1, 3, 7]) {
      const { part } = await chordOf(size);
      const order = Array.from({ length: size }, (_, index) => (index * 5 + 2) % size);
      const answers = [];
      for (const index of order) answers.push(await counter.chordPartReturn(part(index), ok(`r${index}`)));
      expect(answers.slice(0, -1).every((answer) => answer === undefined)).toBe(true);
      expect(answers.at(-1)).toEqual({ results: Array.from({ length: size }, (_, index) => `r${index}`) });
    }
  });

  it('counts a part delivered again once, even when its second run returns something else', async () => {
    const counter = connect(86_400);
    const { part } = await chordOf(3);
    const first = part(0);
    expect(await counter.chordPartReturn(first, ok({ at: 1 }))).toBeUndefined();
    // Celery keys its sorted set by the encoded result: this would be a second member, and the
    // next part would complete the chord early, with both runs' results and without part 2.
    expect(await counter.chordPartReturn(first, ok({ at: 2 }))).toBeUndefined();
    expect(await counter.chordPartReturn(part(1), ok('b'))).toBeUndefined();
    expect(await counter.chordPartReturn(part(2), ok('c'))).toEqual({ results: [{ at: 2 }, 'b', 'c'] });
  });

  it('completes the chord again for its last part delivered again, until the chord is forgotten', async () => {
    const counter = connect(86_400);
    const { group, part } = await chordOf(2);
    const [one, two] = [part(0), part(1)];
    await counter.chordPartReturn(one, ok(1));
    expect(await counter.chordPartReturn(two, ok(2))).toEqual({ results: [1, 2] });
    // Its worker died before its body was sent: the body goes when the message comes back.
    expect(await counter.chordPartReturn(two, ok(2))).toEqual({ results: [1, 2] });
    await counter.chordDone(two);
    expect(await redis.cli('EXISTS', `celery-taskset-meta-${group}.s`)).toBe('0');
    // Delivered once more after that (its delete failed): nothing completes.
    expect(await counter.chordPartReturn(two, ok(2))).toBeUndefined();
    expect(await counter.chordPartReturn(one, ok(1))).toBeUndefined();
  });

  it('gives the first part that failed, in group_index order, as Celery raises it', async () => {
    const counter = connect(86_400);
    const { part } = await chordOf(4);
    const parts = [part(0), part(1), part(2), part(3)];
    const failure = (name: string, message: string) => ({
      state: 'FAILURE' as const,
      error: Object.assign(new Error(message), { name }),
    });
    await counter.chordPartReturn(parts[2] as CeleryMessage, failure('RangeError', 'second'));
    await counter.chordPartReturn(parts[0] as CeleryMessage, ok(0));
    await counter.chordPartReturn(parts[1] as CeleryMessage, failure('TypeError', "it's first"));
    const ready = await counter.chordPartReturn(parts[3] as CeleryMessage, ok(3));
    expect(ready).toEqual({ failed: { taskId: parts[1]?.id, error: expect.any(Error) } });
    const { error } = (ready as { failed: { error: Error } }).failed;
    expect(error).toMatchObject({ excType: 'TypeError', excMessage: ["it's first"] });
  });

  it('adds the parts Celery added later (.t), and orders parts without a group_index last', async () => {
    const counter = connect(86_400);
    const { group, part } = await chordOf(2);
    await redis.cli('INCRBY', `celery-taskset-meta-${group}.t`, '1');
    expect(await counter.chordPartReturn(part(null), ok('late'))).toBeUndefined();
    expect(await counter.chordPartReturn(part(1), ok('b'))).toBeUndefined();
    expect(await counter.chordPartReturn(part(0), ok('a'))).toEqual({ results: ['a', 'b', 'late'] });
  });

  it('keeps a list when the fleet keeps one (result_chord_ordered=False)', async () => {
    const counter = connect(86_400);
    const { group, part } = await chordOf(2);
    const python = JSON.stringify([1, randomUUID(), 'SUCCESS', 'from python']);
    await redis.cli('RPUSH', `celery-taskset-meta-${group}.j`, python);
    expect(await redis.cli('TYPE', `celery-taskset-meta-${group}.j`)).toBe('list');
    expect(await counter.chordPartReturn(part(0), ok('from here'))).toEqual({ results: ['from python', 'from here'] });
  });

  it.each([5, 2_592_000, 0])(
    'expires the chord’s keys with the results (RESULT_EXPIRES_SECONDS=%i)',
    async (expires) => {
      const counter = connect(expires);
      const { group, part } = await chordOf(3);
      await redis.cli('SET', `celery-taskset-meta-${group}.t`, '0');
      await counter.chordPartReturn(part(0), ok(0));
      for (const end of ['.j', '.t', '.s']) {
        const ttl = Number(await redis.cli('TTL', `celery-taskset-meta-${group}${end}`));
        if (expires === 0) expect(ttl).toBe(-1);
        else expect(ttl > 0 && ttl <= expires).toBe(true);
      }
    },
  );
});

describe('chords on workers: header tasks delivered again after a lost delete, a header task expired', () => {
  const naming = { env: 'local', user: 'chord-again' };
  const full = (queue: string) => fullQueueName(queue, naming);
  /** Each run of ts.stamp returns something new, as a task that returns a time or an id does. */
  const stamps: { id: string; stamp: string }[] = [];
  const bodies: { id: string; args: unknown[] }[] = [];
  const tasks = [
    defineTask({
      name: 'ts.stamp',
      args: z.tuple([]),
      run: (_args, ctx) => {
        const stamp = randomUUID();
        stamps.push({ id: ctx.id, stamp });
        return stamp;
      },
    }),
    defineTask({
      name: 'ts.collect',
      args: z.array(z.unknown()),
      run: (args, ctx) => void bodies.push({ id: ctx.id, args }),
    }),
  ];
  const queues = [
    { queue: 'stamps', task: 'ts.stamp' },
    { queue: 'collect', task: 'ts.collect' },
  ];
  let sqs: Awaited<ReturnType<typeof startSqsProcess>>;

  beforeAll(async () => {
    sqs = await startSqsProcess();
    // Short: a message whose delete was lost comes back soon.
    await createQueues(
      sqs,
      queues.map(({ queue }) => full(queue)),
      { visibilityTimeoutSeconds: 2 },
    );
  });
  afterAll(() => sqs?.stop());

  /**
   * A worker (another replica each time). With `lost`, its SQS deletes fail, and it runs only the
   * header tasks: the body it sends waits for the next worker, whose deletes go through.
   */
  async function worker(lost: boolean, results = connect(3600)) {
    const network = await startFaultyNetwork(sqs.endpoint);
    if (lost) network.fail(['DeleteMessage', 'DeleteMessageBatch']);
    const started = await startWorker({
      sqs: { region: 'us-east-1', endpoint: network.endpoint },
      queues: lost ? queues.slice(0, 1) : queues,
      routes: { 'ts.collect': 'collect' },
      tasks,
      naming,
      concurrency: 3,
      metrics: createMetrics('chord_again', { defaultMetrics: false }),
      log: createLogger('chord-again', 'silent'),
      waitTimeSeconds: 1,
      hooks: { results },
    });
    return {
      async stop() {
        await started.stop(5);
        await network.close();
      },
    };
  }

  /** A header task of a chord of `size`, as Python's chord sends it; the body is ts.collect. */
  async function part(group: string, index: number, body: string, expires: Date | null = null) {
    const id = randomUUID();
    const chord = { ...sig('ts.collect'), options: { task_id: body } };
    const queue = full('stamps');
    const message = { task: 'ts.stamp', id, queue, group, groupIndex: index, expires, embed: { chord } };
    await send(sqs, queue, encodeMessage(message));
    return id;
  }
  const runsOf = (id: string) => stamps.filter((run) => run.id === id);

  it('counts a part run twice once, with its later result, and sends the body once', async () => {
    const [group, body] = [randomUUID(), randomUUID()];
    await redis.cli('SET', `celery-taskset-meta-${group}.s`, '2');
    const first = await worker(true);
    const again = await part(group, 0, body);
    await waitFor('the first run', async () => (runsOf(again).length === 1 ? true : undefined));
    await first.stop();
    const second = await worker(false);
    try {
      await waitFor('its run on another worker', async () => (runsOf(again).length === 2 ? true : undefined), 30_000);
      await waitFor('its delete', async () => ((await depth(sqs, full('stamps'))) === 0 ? true : undefined));
      expect(await redis.cli('ZCARD', `celery-taskset-meta-${group}.j`)).toBe('1');
      const other = await part(group, 1, body);
      await waitFor('the body', async () => (bodies.some((run) => run.id === body) ? true : undefined));
      const results = [runsOf(again)[1]?.stamp, runsOf(other)[0]?.stamp];
      expect(bodies.filter((run) => run.id === body)).toEqual([{ id: body, args: [results] }]);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('does not send the body again for its last part run twice once the chord was completed', async () => {
    const [group, body] = [randomUUID(), randomUUID()];
    await redis.cli('SET', `celery-taskset-meta-${group}.s`, '1');
    const first = await worker(true);
    const again = await part(group, 0, body);
    await waitFor('the body sent', async () => ((await depth(sqs, full('collect'))) === 1 ? true : undefined));
    await first.stop();
    const second = await worker(false);
    try {
      await waitFor('its run on another worker', async () => (runsOf(again).length === 2 ? true : undefined), 30_000);
      await waitFor('the body', async () => (bodies.some((run) => run.id === body) ? true : undefined));
      // Deleted after its part was counted: a body it sent again would be in its queue by now.
      await waitFor('its delete', async () => ((await depth(sqs, full('stamps'))) === 0 ? true : undefined));
      await waitFor('the body deleted', async () => ((await depth(sqs, full('collect'))) === 0 ? true : undefined));
      expect(bodies.filter((run) => run.id === body)).toHaveLength(1);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('fails the chord of a part that expired before it ran, as Celery does (TaskRevokedError)', async () => {
    const [group, body] = [randomUUID(), randomUUID()];
    await redis.cli('SET', `celery-taskset-meta-${group}.s`, '2');
    const running = await worker(false);
    try {
      await part(group, 0, body);
      const expired = await part(group, 1, body, new Date(Date.now() - 60_000));
      const stored = await waitFor('the body’s result', async () => {
        const json = await redis.cli('GET', `celery-task-meta-${body}`);
        return json ? JSON.parse(json) : undefined;
      });
      expect(stored).toMatchObject({
        status: 'FAILURE',
        result: {
          exc_type: 'ChordError',
          exc_module: 'celery.exceptions',
          exc_message: [`Dependency ${expired} raised TaskRevokedError('expired')`],
        },
      });
      expect(runsOf(expired)).toEqual([]);
      expect(bodies.some((run) => run.id === body)).toBe(false);
    } finally {
      await running.stop();
    }
  }, 90_000);

  it('leaves a header task whose part cannot be counted (Redis down) to come back, and counts it once Redis is up', async () => {
    const port = await freePort();
    const running = await worker(false, connect(3600, `redis://127.0.0.1:${port}`));
    let later: ResultPromise | undefined;
    try {
      const [group, body] = [randomUUID(), randomUUID()];
      const id = await part(group, 0, body);
      // Not counted, so not deleted: it runs again once it is visible again, and then counts.
      await waitFor('its second run', async () => (runsOf(id).length > 1 ? true : undefined), 60_000);
      later = execa('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { reject: false });
      const cli = (...args: string[]) => execa('redis-cli', ['-p', String(port), ...args], { reject: false });
      await waitFor('redis', async () => ((await cli('PING')).stdout === 'PONG' ? true : undefined));
      await cli('SET', `celery-taskset-meta-${group}.s`, '1');
      await waitFor('the body', async () => (bodies.some((run) => run.id === body) ? true : undefined), 60_000);
      await waitFor('its delete', async () => ((await depth(sqs, full('stamps'))) === 0 ? true : undefined));
      expect(bodies.filter((run) => run.id === body)).toHaveLength(1);
    } finally {
      await running.stop();
      later?.kill('SIGKILL');
      await later;
    }
  }, 90_000);
});
