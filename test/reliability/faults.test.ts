// Faults production brings, each against a worker process and a local SQS (fauxqs) in another:
// tasks that block the event loop or never end, a stop with idle slots, a killed prefork primary,
// and — through a fault proxy between the two — an SQS that goes silent or fails only deletes.
// Every test waits for states (a metric, the run log, an exit), never on a clock alone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stopDeadlineSeconds } from '../../templates/worker/src/runtime/timing.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import {
  killWorkers,
  MINUTE,
  poolProcesses,
  ran,
  sendNaps,
  sendTasks,
  setUp,
  startWorkerProcess,
} from '../support/workers.ts';

let sqs: SqsProcess;
/** Between the worker and SQS, where a test needs SQS to misbehave. */
let network: FaultyNetwork;
beforeAll(async () => {
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
});
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
});
afterEach(killWorkers);

describe('a task that blocks the event loop', () => {
  it(
    'keeps its message: it runs once, though it blocks far past the visibility timeout, and the block is counted',
    async () => {
      const RUN_LOG = await setUp(sqs, 'cpu', 2, 'spins');
      const target = { queue: 'spins', task: 'spin' };
      const worker = await startWorkerProcess(sqs, 'cpu', { RUN_LOG, WORKER_CONCURRENCY: '2' }, target);
      const ids = await sendTasks(sqs, 'cpu', [[5000], [5000]], target);
      // A second worker on the queue runs whatever becomes visible again.
      const other = await startWorkerProcess(sqs, 'cpu', { RUN_LOG }, target);
      await waitFor('both to run', async () => ((await ran(RUN_LOG)).length >= 2 ? true : undefined), MINUTE);
      await waitFor('the queue to be empty', async () =>
        (await depth(sqs, 'cpu-local-spins')) === 0 ? true : undefined,
      );
      expect((await ran(RUN_LOG)).sort()).toEqual([...ids].sort());
      expect(await other.metric('received', 'consumer')).toBe(0);
      expect(await depth(sqs, 'err-cpu-local-spins')).toBe(0);
      expect(await worker.metrics()).toMatch(/^test_worker_event_loop_blocks_total [1-9]/m);
    },
    MINUTE,
  );
});

describe('a task that ignores its time limits', () => {
  it(
    'is given up at its hard limit: retried, and its process exits 1 so the run ends; the retry starts after',
    async () => {
      const RUN_LOG = await setUp(sqs, 'hang', 30, 'hangs');
      const target = { queue: 'hangs', task: 'hang' };
      const first = await startWorkerProcess(sqs, 'hang', { RUN_LOG, SHUTDOWN_GRACE_SECONDS: '2' }, target);
      const [id] = await sendTasks(sqs, 'hang', [[]], target);
      const stopped = await first.process;
      expect(stopped.exitCode, String(stopped.all)).toBe(1);
      expect(stopped.all).toContain('past its hard time limit');
      expect(await ran(RUN_LOG)).toEqual([`${id} start 0`]);

      // The retry, on the next worker, runs as retry 1 — and only once the first run's process is gone.
      await startWorkerProcess(sqs, 'hang', { RUN_LOG, HANG_MS: '100' }, target);
      await waitFor('the retry to run', async () => ((await ran(RUN_LOG)).length === 3 ? true : undefined), MINUTE);
      expect(await ran(RUN_LOG)).toEqual([`${id} start 0`, `${id} start 1`, `${id} end 1`]);
    },
    2 * MINUTE,
  );
});

describe('a stop with idle slots', () => {
  it(
    'gives the messages in flight back visible at once: its own open long poll does not take them',
    async () => {
      // A visibility timeout far beyond the test: only a real give-back lets the next worker run them.
      const RUN_LOG = await setUp(sqs, 'idle', 600);
      const first = await startWorkerProcess(sqs, 'idle', {
        RUN_LOG,
        WORKER_CONCURRENCY: '4',
        SHUTDOWN_GRACE_SECONDS: '1',
      });
      const ids = await sendNaps(sqs, 'idle', [60_000, 60_000]);
      await waitFor('both in flight', async () => ((await first.metric('started')) === 2 ? true : undefined));
      first.process.kill('SIGTERM');
      expect((await first.process).exitCode).toBe(0);
      expect(await ran(RUN_LOG)).toEqual([]);

      await startWorkerProcess(sqs, 'idle', { RUN_LOG, NAP_MAX_MS: '50' });
      await waitFor('both to run on the next worker', async () =>
        (await ran(RUN_LOG)).length === 2 ? true : undefined,
      );
      expect((await ran(RUN_LOG)).sort()).toEqual([...ids].sort());
    },
    MINUTE,
  );

  it(
    'holding nothing, lets its open long poll finish: a task sent during or just after the stop runs on the next worker, not after its visibility timeout',
    async () => {
      // A restart as `npm run dev` makes one on every change: the worker, idle, is stopped, a task
      // sent 0-4 s later, the next worker started. An abandoned poll would take the task and hide it
      // for its visibility timeout, far beyond the test; each try is a queue of its own.
      const tries: { wait?: string; sendAfterMs: number }[] = [
        { sendAfterMs: 0 },
        { sendAfterMs: 3000 },
        { wait: '1', sendAfterMs: 0 },
        { wait: '1', sendAfterMs: 1500 },
        { wait: '1', sendAfterMs: 4000 },
        { wait: '3', sendAfterMs: 1000 },
        { wait: '3', sendAfterMs: 2500 },
      ];
      for (const [index, { wait, sendAfterMs }] of tries.entries()) {
        const user = `restart${index}`;
        const RUN_LOG = await setUp(sqs, user, 600);
        const env = { RUN_LOG, NAP_MAX_MS: '50', ...(wait ? { RECEIVE_WAIT_SECONDS: wait } : {}) };
        const first = await startWorkerProcess(sqs, user, env);
        first.process.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, sendAfterMs));
        const ids = await sendNaps(sqs, user, [0]);
        const stopped = await first.process;
        expect(stopped.exitCode, String(stopped.all)).toBe(0);
        await startWorkerProcess(sqs, user, env);
        await waitFor(`try ${index} (${JSON.stringify(tries[index])}) to run on the next worker`, async () =>
          (await ran(RUN_LOG)).length === 1 ? true : undefined,
        );
        expect(await ran(RUN_LOG)).toEqual(ids);
        await killWorkers();
      }
    },
    4 * MINUTE,
  );
});

describe('a prefork pool whose primary is killed', () => {
  it(
    'finishes the tasks in flight in each worker process, deletes them, and exits',
    async () => {
      const RUN_LOG = await setUp(sqs, 'orphan', 600);
      const primary = await startWorkerProcess(sqs, 'orphan', {
        RUN_LOG,
        WORKER_PROCESSES: '2',
        WORKER_CONCURRENCY: '2',
      });
      const ids = await sendNaps(sqs, 'orphan', [3000, 3000, 3000, 3000]);
      await waitFor('all four in flight', async () => ((await primary.metric('started')) === 4 ? true : undefined));
      const children = await poolProcesses(primary.process.pid);
      expect(children).toHaveLength(2);
      primary.process.kill('SIGKILL');
      await primary.process;
      await waitFor('the four to finish', async () => ((await ran(RUN_LOG)).length === 4 ? true : undefined));
      expect((await ran(RUN_LOG)).sort()).toEqual([...ids].sort());
      await waitFor('the queue to be empty', async () =>
        (await depth(sqs, 'orphan-local-naps')) === 0 ? true : undefined,
      );
      await waitFor('the worker processes to exit', async () => {
        const alive = children.filter((pid) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        });
        return alive.length === 0 ? true : undefined;
      });
    },
    MINUTE,
  );
});

describe('an SQS that goes silent', () => {
  it(
    'turns not-ready while it is silent, resumes by itself, and processes every message',
    async () => {
      const RUN_LOG = await setUp(sqs, 'silent', 5);
      const worker = await startWorkerProcess(network, 'silent', { RUN_LOG, WORKER_CONCURRENCY: '2' });
      const before = await sendNaps(sqs, 'silent', [0, 0]);
      await waitFor('the first tasks', async () => ((await ran(RUN_LOG)).length === 2 ? true : undefined));
      await network.set('blackhole');
      await waitFor('/readyz to say not ready', async () => ((await worker.ready()) ? undefined : true), MINUTE);
      // Not ready, but not stuck: nothing a restart would fix.
      expect(await worker.alive()).toBe(true);
      const during = await sendNaps(sqs, 'silent', [0, 0, 0]);
      await network.set('pass');
      await waitFor('/readyz to say ready again', async () => ((await worker.ready()) ? true : undefined), MINUTE);
      await waitFor('every task to run', async () => ((await ran(RUN_LOG)).length === 5 ? true : undefined), MINUTE);
      expect((await ran(RUN_LOG)).sort()).toEqual([...before, ...during].sort());
    },
    3 * MINUTE,
  );

  it(
    'stops within its deadline when SIGTERM comes while SQS is silent, and a second signal exits at once',
    async () => {
      const RUN_LOG = await setUp(sqs, 'mute', 600);
      const grace = 2;
      const worker = await startWorkerProcess(network, 'mute', {
        RUN_LOG,
        WORKER_CONCURRENCY: '4',
        SHUTDOWN_GRACE_SECONDS: String(grace),
      });
      await sendNaps(sqs, 'mute', [60_000]);
      await waitFor('the task in flight', async () => ((await worker.metric('started')) === 1 ? true : undefined));
      await network.set('blackhole');
      let started = Date.now();
      worker.process.kill('SIGTERM');
      // Its open long poll gets its deadline, then 5 s to give back and flush (1 s more to start and exit).
      const first = await worker.process;
      expect(first.exitCode, String(first.all)).toBe(0);
      expect(Date.now() - started).toBeLessThan((stopDeadlineSeconds(grace) + 1) * 1000);
      expect(first.all).toContain('SQS did not answer in time');

      await network.set('pass');
      await setUp(sqs, 'mute2', 600);
      const second = await startWorkerProcess(network, 'mute2', { RUN_LOG, WORKER_CONCURRENCY: '4' });
      await sendNaps(sqs, 'mute2', [60_000]);
      await waitFor('the task in flight', async () => ((await second.metric('started')) === 1 ? true : undefined));
      await network.set('blackhole');
      second.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      started = Date.now();
      second.process.kill('SIGTERM');
      const forced = await second.process;
      expect(forced.exitCode).toBe(143);
      expect(Date.now() - started).toBeLessThan(2500);
      await network.set('pass');
    },
    2 * MINUTE,
  );
});

describe('deletes that fail', () => {
  it(
    'never compound: a task runs once, a task for later stays one message, and both go once deletes work',
    async () => {
      const RUN_LOG = await setUp(sqs, 'undeleted', 2);
      const worker = await startWorkerProcess(network, 'undeleted', { RUN_LOG, WORKER_CONCURRENCY: '4' });
      network.fail(['DeleteMessage', 'DeleteMessageBatch']);
      const now = await sendNaps(sqs, 'undeleted', [0]);
      const later = await sendTasks(sqs, 'undeleted', [[0]], { eta: new Date(Date.now() + 3000) });
      // Each comes back every 2 s (its visibility timeout) while deletes fail: watch it for 12 s.
      const until = Date.now() + 12_000;
      while (Date.now() < until) {
        expect(await depth(sqs, 'undeleted-local-naps')).toBeLessThanOrEqual(2);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(network.counts().failed.DeleteMessageBatch ?? 0).toBeGreaterThan(2);
      expect((await ran(RUN_LOG)).sort()).toEqual([...now, ...later].sort());
      // Each failed delete is counted: a possible duplicate, should another process receive it.
      expect(await worker.metric('delete_failed', 'consumer')).toBeGreaterThan(2);
      network.fail([]);
      await waitFor('the queue to be empty', async () =>
        (await depth(sqs, 'undeleted-local-naps')) === 0 ? true : undefined,
      );
      expect((await ran(RUN_LOG)).sort()).toEqual([...now, ...later].sort());
      expect(await worker.metric('started')).toBe(2);
    },
    MINUTE,
  );
});
