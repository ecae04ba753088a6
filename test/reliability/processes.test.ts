// The worker as its own process, against SQS (fauxqs) in another: killed, stopped, cut off from
// SQS, forked. Every test waits for states (a metric, the run log, an exit), never on a clock.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/process.ts';
import { depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { killWorkers, MINUTE, ran, sendNaps, setUp, startWorkerProcess } from '../support/workers.ts';

afterEach(killWorkers);

describe('a worker process', () => {
  let sqs: SqsProcess;
  beforeAll(async () => {
    sqs = await startSqsProcess();
  });
  afterAll(async () => {
    await sqs?.stop();
  });

  it(
    'loses nothing when killed with tasks in flight: the next worker runs them all',
    async () => {
      const RUN_LOG = await setUp(sqs, 'kill', 2);
      const first = await startWorkerProcess(sqs, 'kill', { RUN_LOG, WORKER_CONCURRENCY: '10' });
      const ids = await sendNaps(sqs, 'kill', Array(10).fill(60_000));
      await waitFor('all ten in flight', async () => ((await first.metric('started')) === 10 ? true : undefined));
      first.process.kill('SIGKILL');
      await first.process;
      expect(await ran(RUN_LOG)).toEqual([]);

      await startWorkerProcess(sqs, 'kill', { RUN_LOG, WORKER_CONCURRENCY: '10', NAP_MAX_MS: '50' });
      await waitFor('every task to run', async () => (new Set(await ran(RUN_LOG)).size === 10 ? true : undefined));
      expect(new Set(await ran(RUN_LOG))).toEqual(new Set(ids));
      await waitFor('an empty queue', async () => ((await depth(sqs, 'kill-local-naps')) === 0 ? true : undefined));
    },
    2 * MINUTE,
  );

  it(
    'on SIGTERM finishes what it can within the grace period, releases the rest at once, exits 0',
    async () => {
      // A visibility timeout far beyond the test's time: only a release lets the next worker run them.
      const RUN_LOG = await setUp(sqs, 'term', 600);
      const first = await startWorkerProcess(sqs, 'term', {
        RUN_LOG,
        WORKER_CONCURRENCY: '4',
        SHUTDOWN_GRACE_SECONDS: '3',
      });
      const [quick1, quick2, slow1, slow2] = await sendNaps(sqs, 'term', [500, 500, 60_000, 60_000]);
      await waitFor('all four in flight', async () => ((await first.metric('started')) === 4 ? true : undefined));
      first.process.kill('SIGTERM');
      const stopped = await first.process;
      expect(stopped.exitCode, String(stopped.all)).toBe(0);
      expect(new Set(await ran(RUN_LOG))).toEqual(new Set([quick1, quick2]));
      expect(stopped.all).toContain('gave messages in flight back to the queue');

      await startWorkerProcess(sqs, 'term', { RUN_LOG, NAP_MAX_MS: '50' });
      await waitFor('the released tasks to run', async () => ((await ran(RUN_LOG)).length === 4 ? true : undefined));
      expect((await ran(RUN_LOG)).slice(2).sort()).toEqual([slow1, slow2].sort());
    },
    2 * MINUTE,
  );

  it(
    'receives ahead of its slots, runs at most WORKER_CONCURRENCY at once, keeps the waiting messages hidden',
    async () => {
      // Each message waits up to 5 s for the one slot, past its 2 s visibility timeout.
      const RUN_LOG = await setUp(sqs, 'ahead', 2);
      const ids = await sendNaps(sqs, 'ahead', [2500, 2500, 2500]);
      const worker = await startWorkerProcess(sqs, 'ahead', { RUN_LOG, WORKER_CONCURRENCY: '1' });
      await waitFor('all three received', async () =>
        (await worker.metric('received', 'consumer')) === 3 ? true : undefined,
      );
      // A second worker on the queue would run any waiting message that became visible again.
      const other = await startWorkerProcess(sqs, 'ahead', { RUN_LOG, WORKER_CONCURRENCY: '3' });
      while ((await worker.metric('succeeded')) < 3) {
        const running = (await worker.metric('started')) - (await worker.metric('succeeded'));
        expect(running).toBeLessThanOrEqual(1);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Each ran once, in the first worker, and none was received again.
      expect(await ran(RUN_LOG)).toEqual(ids);
      expect(await worker.metric('received', 'consumer')).toBe(3);
      expect(await other.metric('received', 'consumer')).toBe(0);
    },
    MINUTE,
  );

  it(
    'on SIGTERM gives the messages waiting for a slot back to the queue at once',
    async () => {
      const RUN_LOG = await setUp(sqs, 'waiting', 600);
      const [slow, ...quick] = await sendNaps(sqs, 'waiting', [60_000, 50, 50]);
      const first = await startWorkerProcess(sqs, 'waiting', {
        RUN_LOG,
        WORKER_CONCURRENCY: '1',
        SHUTDOWN_GRACE_SECONDS: '1',
      });
      await waitFor('one running, two waiting', async () =>
        (await first.metric('received', 'consumer')) === 3 && (await first.metric('started')) === 1 ? true : undefined,
      );
      first.process.kill('SIGTERM');
      expect((await first.process).exitCode).toBe(0);
      expect(await ran(RUN_LOG)).toEqual([]);

      await startWorkerProcess(sqs, 'waiting', { RUN_LOG, NAP_MAX_MS: '50' });
      await waitFor('all three to run', async () => ((await ran(RUN_LOG)).length === 3 ? true : undefined));
      expect(new Set(await ran(RUN_LOG))).toEqual(new Set([slow, ...quick]));
    },
    MINUTE,
  );

  it(
    'as a pool whose processes cannot start, says why once and exits 1, however their failures interleave',
    async () => {
      // Both processes find the queue missing at about the same moment; the order in which the
      // primary hears of their failures and exits varies from run to run, so it runs many times.
      for (let run = 0; run < 15; run++) {
        const pool = await startWorkerProcess(sqs, 'pool-fails', { WORKER_PROCESSES: '2' }, { ready: false });
        const { exitCode, stderr } = await pool.process;
        expect(String(stderr).trim().split('\n'), String(stderr)).toEqual([
          expect.stringMatching(/^test-worker cannot start: SQS queue "pool-fails-local-naps" does not exist/),
        ]);
        expect(exitCode).toBe(1);
      }
    },
    2 * MINUTE,
  );

  it(
    'runs 2,000 tasks in 2 processes × 20 slots, and its counters add up exactly',
    async () => {
      // A short visibility timeout: a long poll of the process killed below may still hold messages
      // in the emulator; they come back after it.
      const RUN_LOG = await setUp(sqs, 'load', 5);
      const IMPORTS_LOG = join(dirname(RUN_LOG), 'imports');
      const primary = await startWorkerProcess(sqs, 'load', {
        RUN_LOG,
        WORKER_PROCESSES: '2',
        WORKER_CONCURRENCY: '20',
        IMPORTS_LOG,
        NODE_OPTIONS: `--import=${pathToFileURL(join(import.meta.dirname, '..', 'support', 'record-imports.ts'))}`,
      });
      const ids = await sendNaps(sqs, 'load', Array(2000).fill(0));
      await waitFor(
        '2,000 successes',
        async () => ((await primary.metric('succeeded')) === 2000 ? true : undefined),
        3 * MINUTE,
      );
      expect(await primary.metric('started')).toBe(2000);
      expect(await primary.metric('failed')).toBe(0);
      expect(await primary.metric('received', 'consumer')).toBe(2000);
      await waitFor('2,000 deletes', async () =>
        (await primary.metric('deleted', 'consumer')) === 2000 ? true : undefined,
      );
      const log = await ran(RUN_LOG);
      expect(log).toHaveLength(2000);
      expect(new Set(log)).toEqual(new Set(ids));

      // A worker process that dies is replaced, and the pool goes on.
      const children = async () =>
        (await execa('pgrep', ['-P', String(primary.process.pid)], { reject: false })).stdout
          .split('\n')
          .filter(Boolean);
      const [victim = ''] = await children();
      process.kill(Number(victim), 'SIGKILL');
      await waitFor('a new worker process', async () => {
        const now = await children();
        return now.length === 2 && !now.includes(victim) ? true : undefined;
      });
      await waitFor('the pool to be ready again', async () => ((await primary.ready()) ? true : undefined));
      const more = await sendNaps(sqs, 'load', Array(20).fill(0));
      await waitFor(
        '20 more tasks',
        async () => {
          const done = new Set(await ran(RUN_LOG));
          return more.every((id) => done.has(id)) ? true : undefined;
        },
        MINUTE,
      );

      primary.process.kill('SIGTERM');
      expect((await primary.process).exitCode).toBe(0);

      // The primary only forks, probes and sums: it never loaded the tasks or the AWS SDK, which
      // each worker process did.
      const imports = async (slot: string) => (await readFile(`${IMPORTS_LOG}.${slot}`, 'utf8')).split('\n');
      const work = (url: string) => url.includes('/@aws-sdk/client-sqs/') || url.endsWith('/support/tasks.ts');
      const primaryImports = await imports('primary');
      expect(primaryImports.filter(work)).toEqual([]);
      expect(primaryImports.some((url) => url.endsWith('/runtime/prefork.ts'))).toBe(true);
      expect((await imports('0')).filter(work).length).toBeGreaterThan(1);
    },
    5 * MINUTE,
  );
});

describe('a worker process whose SQS goes away', () => {
  it(
    'turns not-ready, recovers by itself when SQS is back, and processes every message',
    async () => {
      const sqs = await startSqsProcess({ persistent: true });
      try {
        const RUN_LOG = await setUp(sqs, 'outage', 5);
        const worker = await startWorkerProcess(sqs, 'outage', { RUN_LOG, WORKER_CONCURRENCY: '5' });
        const before = await sendNaps(sqs, 'outage', Array(10).fill(300));
        await waitFor('some tasks to run', async () => ((await ran(RUN_LOG)).length >= 3 ? true : undefined));
        await sqs.stop();
        await waitFor('/readyz to say not ready', async () => ((await worker.ready()) ? undefined : true));
        // Down for a few seconds while the worker keeps trying.
        await new Promise((resolve) => setTimeout(resolve, 3000));
        expect(await worker.ready()).toBe(false);
        await sqs.start();
        await waitFor('/readyz to say ready again', async () => ((await worker.ready()) ? true : undefined), MINUTE);
        const after = await sendNaps(sqs, 'outage', Array(10).fill(0));
        await waitFor(
          'every task to run',
          async () => {
            const done = new Set(await ran(RUN_LOG));
            return [...before, ...after].every((id) => done.has(id)) ? true : undefined;
          },
          MINUTE,
        );
        expect(await worker.ready()).toBe(true);
      } finally {
        await sqs.stop();
      }
    },
    3 * MINUTE,
  );
});
