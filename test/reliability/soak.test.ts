// 2,000 tasks through everything at once: workers killed at random moments, SQS silent for a
// while, then refusing and then resetting connections for a while, a rolling restart, and a SIGTERM
// at the end. Nothing may be lost, duplicates may only come from work whose delete did not happen,
// and every stop ends in time.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { stopDeadlineSeconds } from '../../templates/worker/src/runtime/timing.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { waitFor } from '../support/process.ts';
import { depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import {
  killWorkers,
  MINUTE,
  ran,
  sendTasks,
  setUp,
  startWorkerProcess,
  type WorkerProcess,
} from '../support/workers.ts';

const TASKS = 2000;
const CONCURRENCY = 20;
const GRACE_SECONDS = 5;
/** What the worker promises a stop takes at most, and a second to start and exit the process. */
const STOP_DEADLINE_MS = (stopDeadlineSeconds(GRACE_SECONDS) + 1) * 1000;

let sqs: SqsProcess;
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

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);

it(
  'loses none of 2,000 tasks through SIGKILLs, a silent, a refusing and a resetting SQS, and stops in time',
  async () => {
    const RUN_LOG = await setUp(sqs, 'soak', 5);
    const env = {
      RUN_LOG,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    };
    const start = () => startWorkerProcess(network, 'soak', env);
    const stop = async (worker: WorkerProcess) => {
      const started = Date.now();
      worker.process.kill('SIGTERM');
      const { exitCode, all } = await worker.process;
      expect(exitCode, String(all)).toBe(0);
      expect(Date.now() - started).toBeLessThan(STOP_DEADLINE_MS);
    };
    const kill = async (worker: WorkerProcess) => {
      worker.process.kill('SIGKILL');
      await worker.process;
    };
    const ids = await sendTasks(
      sqs,
      'soak',
      // 50–250 ms each: about 15 s of work at this concurrency, so every fault lands under load.
      Array.from({ length: TASKS }, () => [Math.round(between(50, 250))]),
    );

    let worker = await start();
    await pause(between(500, 2000));
    await kill(worker);
    worker = await start();
    await pause(between(500, 1500));
    await network.set('blackhole');
    await pause(6000);
    await network.set('pass');
    await pause(between(500, 1500));
    await kill(worker);
    worker = await start();
    await pause(between(500, 1500));
    await network.set('refuse');
    await pause(3000);
    await network.set('pass');
    await pause(between(500, 1500));
    // Every connection reset, open or new, as a load balancer that drops them does.
    await network.set('reset');
    await pause(3000);
    await network.set('pass');
    await pause(between(500, 1500));
    // A rolling restart: the next worker starts before this one stops.
    const next = await start();
    await stop(worker);
    worker = next;
    await waitFor(
      'every task to run',
      async () => {
        const done = new Set(await ran(RUN_LOG));
        return ids.every((id) => done.has(id)) ? true : undefined;
      },
      3 * MINUTE,
    );
    await waitFor('an empty queue', async () => ((await depth(sqs, 'soak-local-naps')) === 0 ? true : undefined));
    await stop(worker);

    const runs = await ran(RUN_LOG);
    const counted = new Map<string, number>();
    for (const id of runs) counted.set(id, (counted.get(id) ?? 0) + 1);
    expect(new Set(counted.keys())).toEqual(new Set(ids));
    // A duplicate is a task whose delete did not happen: in flight or just done at one of the two
    // kills, or finished while SQS was silent or refusing — a few slots and a prefetch each at most.
    const duplicates = runs.length - ids.length;
    console.info(`soak: ${TASKS} tasks, ${runs.length} runs, ${duplicates} duplicates`);
    expect(duplicates).toBeLessThanOrEqual(4 * (CONCURRENCY + 10));
    expect(await depth(sqs, 'err-soak-local-naps')).toBe(0);
  },
  6 * MINUTE,
);
