// A worker process (alone, or a prefork pool) facing what ends processes: a rejection or an
// exception nobody handles, SIGHUP, a replacement process killed as it starts. Every test waits
// for states (a metric, the run log, an exit), never on a clock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sample, waitFor } from '../support/process.ts';
import { type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import {
  killWorkers,
  MINUTE,
  poolProcesses,
  ran,
  sendNaps,
  sendTasks,
  setUp,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/workers.ts';

afterEach(killWorkers);

/** The JSON lines of a process's output. */
const logLines = (output: unknown) =>
  String(output)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { err?: { message?: string } });

/** The pids of a pool's worker processes. */
const children = async (primary: WorkerProcess) => (await poolProcesses(primary.process.pid)).map(String);

const counted = async (worker: WorkerProcess, series: string) => sample(await worker.metrics(), series) ?? 0;

describe('a worker process', () => {
  let sqs: SqsProcess;
  beforeAll(async () => {
    sqs = await startSqsProcess();
  });
  afterAll(async () => {
    await sqs?.stop();
  });

  it.each([
    ['1', '1'],
    ['1', '7'],
    ['2', '3'],
  ])(
    'with WORKER_PROCESSES=%s and WORKER_CONCURRENCY=%s, goes on after a task leaves rejections behind: logs each with its task, counts it',
    async (WORKER_PROCESSES, WORKER_CONCURRENCY) => {
      const user = `rejects${WORKER_PROCESSES}x${WORKER_CONCURRENCY}`;
      const RUN_LOG = await setUp(sqs, user, 30);
      const worker = await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_PROCESSES, WORKER_CONCURRENCY });
      const before = await sendNaps(sqs, user, [300, 300]);
      const [litter = ''] = await sendTasks(sqs, user, [['reject']], { task: 'litter' });
      const after = await sendNaps(sqs, user, [0, 0, 0]);
      await waitFor('its two rejections to be counted', async () =>
        (await counted(worker, 'test_worker_unhandled_rejections_total')) === 2 ? true : undefined,
      );
      await waitFor('every task to run', async () => {
        const done = new Set(await ran(RUN_LOG));
        return [...before, litter, ...after].every((id) => done.has(id)) ? true : undefined;
      });
      expect(await worker.metric('succeeded')).toBe(5);
      expect(await worker.alive()).toBe(true);
      const more = await sendNaps(sqs, user, [0]);
      await waitFor('a later task to run', async () =>
        (await ran(RUN_LOG)).includes(more[0] ?? '') ? true : undefined,
      );

      worker.process.kill('SIGTERM');
      const { exitCode, stdout } = await worker.process;
      expect(exitCode, String(stdout)).toBe(0);
      const rejections = logLines(stdout).filter(({ msg }) => String(msg).includes('nothing handled'));
      expect(rejections.map(({ task, id, err }) => ({ task, id, message: err?.message }))).toEqual([
        { task: 'litter', id: litter, message: `left behind by ${litter}` },
        { task: 'litter', id: litter, message: `left behind later by ${litter}` },
      ]);
    },
    2 * MINUTE,
  );

  it(
    'on an exception nobody catches, stops as on SIGTERM: finishes its task in flight, exits 1',
    async () => {
      const RUN_LOG = await setUp(sqs, 'throws', 600);
      const worker = await startWorkerProcess(sqs, 'throws', {
        RUN_LOG,
        WORKER_CONCURRENCY: '2',
        SHUTDOWN_GRACE_SECONDS: '30',
      });
      const [inFlight] = await sendNaps(sqs, 'throws', [1500]);
      await waitFor('a task in flight', async () => ((await worker.metric('started')) === 1 ? true : undefined));
      const [thrower] = await sendTasks(sqs, 'throws', [['throw']], { task: 'litter' });
      const { exitCode, stdout } = await worker.process;
      expect(exitCode, String(stdout)).toBe(1);
      // The nap, in flight when the exception came, finished within the grace period.
      expect(await ran(RUN_LOG)).toEqual([thrower, inFlight]);
      const lines = logLines(stdout);
      const fatal = lines.find(({ msg }) => String(msg).startsWith('an exception nobody caught'));
      expect(fatal).toMatchObject({
        level: 60,
        task: 'litter',
        id: thrower,
        err: { message: `thrown later by ${thrower}` },
      });
      expect(lines.some(({ msg }) => msg === 'worker stopped')).toBe(true);
    },
    MINUTE,
  );

  it(
    'in a pool, on an exception nobody catches, stops that process gracefully, exit code 1; another takes its place',
    async () => {
      // A short visibility timeout: the long poll of the process that stopped may still hold
      // messages in the emulator; they come back after it.
      const RUN_LOG = await setUp(sqs, 'poolthrows', 5);
      const primary = await startWorkerProcess(sqs, 'poolthrows', {
        RUN_LOG,
        WORKER_PROCESSES: '2',
        WORKER_CONCURRENCY: '2',
        SHUTDOWN_GRACE_SECONDS: '30',
      });
      const before = await children(primary);
      const naps = await sendNaps(sqs, 'poolthrows', [1500, 1500]);
      await waitFor('two tasks in flight', async () => ((await primary.metric('started')) === 2 ? true : undefined));
      const [thrower = ''] = await sendTasks(sqs, 'poolthrows', [['throw']], { task: 'litter' });
      await waitFor('a process to be replaced, and the pool ready', async () => {
        const now = await children(primary);
        return now.length === 2 && now.some((pid) => !before.includes(pid)) && (await primary.ready())
          ? true
          : undefined;
      });
      const more = await sendNaps(sqs, 'poolthrows', [0, 0, 0]);
      await waitFor(
        'every task to run',
        async () => {
          const done = new Set(await ran(RUN_LOG));
          return [...naps, thrower, ...more].every((id) => done.has(id)) ? true : undefined;
        },
        MINUTE,
      );

      primary.process.kill('SIGTERM');
      const { exitCode, stdout } = await primary.process;
      expect(exitCode, String(stdout)).toBe(0);
      const ended = logLines(stdout).filter(({ msg }) => String(msg).startsWith('worker process ended'));
      expect(ended.map(({ code, started }) => ({ code, started }))).toEqual([{ code: 1, started: true }]);
    },
    2 * MINUTE,
  );

  it(
    'on SIGHUP stops as on SIGTERM: says so, finishes its task in flight, exits 0',
    async () => {
      const RUN_LOG = await setUp(sqs, 'hup', 600);
      const worker = await startWorkerProcess(sqs, 'hup', { RUN_LOG, SHUTDOWN_GRACE_SECONDS: '30' });
      const [inFlight] = await sendNaps(sqs, 'hup', [1500]);
      await waitFor('a task in flight', async () => ((await worker.metric('started')) === 1 ? true : undefined));
      worker.process.kill('SIGHUP');
      const { exitCode, stdout } = await worker.process;
      expect(exitCode, String(stdout)).toBe(0);
      expect(await ran(RUN_LOG)).toEqual([inFlight]);
      expect(logLines(stdout)).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGHUP' }));
    },
    MINUTE,
  );
});

describe('a prefork pool', () => {
  let sqs: SqsProcess;
  beforeAll(async () => {
    sqs = await startSqsProcess();
  });
  afterAll(async () => {
    await sqs?.stop();
  });

  it(
    'on SIGHUP to a worker process ignores it; on SIGHUP to the primary stops them all and exits 0',
    async () => {
      const RUN_LOG = await setUp(sqs, 'poolhup', 600);
      const primary = await startWorkerProcess(sqs, 'poolhup', { RUN_LOG, WORKER_PROCESSES: '2' });
      const pids = await children(primary);
      expect(pids).toHaveLength(2);
      process.kill(Number(pids[0]), 'SIGHUP');
      const [id] = await sendNaps(sqs, 'poolhup', [0]);
      await waitFor('a task to run', async () => ((await ran(RUN_LOG)).includes(id ?? '') ? true : undefined));
      expect(await children(primary)).toEqual(pids);
      expect(await primary.ready()).toBe(true);

      primary.process.kill('SIGHUP');
      const { exitCode, stdout } = await primary.process;
      expect(exitCode, String(stdout)).toBe(0);
      expect(logLines(stdout).map(({ msg }) => msg)).toContain('all worker processes stopped');
    },
    MINUTE,
  );

  it(
    'says it is not ready while a process that ended waits to be replaced, and ready again once it is',
    async () => {
      await setUp(sqs, 'poolready', 5);
      const primary = await startWorkerProcess(sqs, 'poolready', { WORKER_PROCESSES: '3' });
      const [victim = ''] = await children(primary);
      process.kill(Number(victim), 'SIGKILL');
      // Asked as soon as the primary has seen it end: its replacement waits out a back-off first.
      while ((await children(primary)).includes(victim)) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await primary.ready()).toBe(false);
      await waitFor('/readyz to say ready again', async () => ((await primary.ready()) ? true : undefined), MINUTE);
      expect(await children(primary)).not.toContain(victim);
    },
    2 * MINUTE,
  );

  it(
    'on SIGTERM while a replacement waits out its back-off, forks none, and exits 0',
    async () => {
      await setUp(sqs, 'poolpending', 5);
      const primary = await startWorkerProcess(sqs, 'poolpending', {
        WORKER_PROCESSES: '2',
        SHUTDOWN_GRACE_SECONDS: '1',
      });
      const [victim = '', other = ''] = await children(primary);
      process.kill(Number(victim), 'SIGKILL');
      while ((await children(primary)).includes(victim)) await new Promise((resolve) => setTimeout(resolve, 10));
      primary.process.kill('SIGTERM');
      const hung = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 40_000));
      const ended = await Promise.race([primary.process, hung]);
      expect(ended === 'hung' ? 'the primary still runs' : ended.exitCode).toBe(0);
      const started = logLines((await primary.process).stdout).filter(({ msg }) => msg === 'worker started');
      expect(started.map(({ pid }) => String(pid)).sort()).toEqual([victim, other].sort());
    },
    2 * MINUTE,
  );

  it.each([1, 3])(
    'replaces a replacement killed in its first moments (%i times in a row), and goes on serving tasks',
    async (kills) => {
      const user = `killnew${kills}`;
      const RUN_LOG = await setUp(sqs, user, 5);
      const primary = await startWorkerProcess(sqs, user, { RUN_LOG, WORKER_PROCESSES: '2' });
      let primaryExited = false;
      void primary.process.finally(() => {
        primaryExited = true;
      });
      const seen = new Set(await children(primary));
      let [victim = ''] = seen;
      for (let kill = 0; kill <= kills; kill++) {
        process.kill(Number(victim), 'SIGKILL');
        if (kill === kills) break;
        // Its replacement, killed as soon as it is seen: before it can report to the primary.
        for (;;) {
          const fresh = (await children(primary)).find((pid) => !seen.has(pid));
          if (fresh) {
            victim = fresh;
            seen.add(fresh);
            break;
          }
          if (primaryExited) throw new Error(`the primary exited: ${(await primary.process).stdout}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
      await waitFor(
        'two new worker processes, ready',
        async () => {
          const now = await children(primary);
          return now.length === 2 && now.some((pid) => !seen.has(pid)) && (await primary.ready()) ? true : undefined;
        },
        MINUTE,
      );
      const ids = await sendNaps(sqs, user, [0, 0, 0, 0, 0]);
      await waitFor('every task to run', async () => {
        const done = new Set(await ran(RUN_LOG));
        return ids.every((id) => done.has(id)) ? true : undefined;
      });

      primary.process.kill('SIGTERM');
      const { exitCode, stdout } = await primary.process;
      expect(exitCode, String(stdout)).toBe(0);
      const ended = logLines(stdout).filter(({ msg }) => String(msg).startsWith('worker process ended'));
      // The first one killed had started; each replacement was killed before it reported that it had.
      expect(ended.map(({ started, signal }) => ({ started, signal }))).toEqual([
        { started: true, signal: 'SIGKILL' },
        ...Array(kills).fill({ started: false, signal: 'SIGKILL' }),
      ]);
    },
    3 * MINUTE,
  );
});
