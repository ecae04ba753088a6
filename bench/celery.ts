// What our users would keep instead: Python's Celery worker (>= 5.5, JSON protocol, the interop
// tests' virtualenv), prefork `-c 2`, against the generated worker (all integrations off, `node
// dist/main.js` as its image runs it) with WORKER_PROCESSES=1 and 2, on the same Celery bodies
// from the same local SQS. Each contender starts with its queue filled: start to ready is spawn →
// the first message taken; throughput is the steady state's, as in throughput.ts: messages ÷ (a
// tenth of them gone → queue empty: every message handled and deleted), so that the processes'
// start and warm-up are not counted per message; RSS is the peak sum over its process tree; CPU,
// in cores over the same window, is the worker's process tree's (by thread kind too), the local
// SQS's and the whole machine's: what a second process had left to use. One process with as many
// tasks at once as the pool shows what a second process adds beyond its slots.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provisionQueues } from '../templates/worker/src/runtime/provision.ts';
import { resolveQueueUrl } from '../templates/worker/src/runtime/sqs.ts';
import { celeryPython, startCeleryWorker } from '../test/support/celery.ts';
import { freePort } from '../test/support/process.ts';
import { type SqsProcess, startSqsProcess } from '../test/support/sqs.ts';
import { generateWorker, workerEnv } from './generated.ts';
import {
  cpuOfThisProcess,
  cpuSeconds,
  machineBusySeconds,
  round,
  steadyState,
  type ThreadKind,
  treeCpuSeconds,
  treeRssPeak,
  treeThreadCpuSeconds,
} from './stats.ts';
import { benchBody, depth, type Scenario, scenario, sendAll } from './throughput.ts';

let runNumber = 0;
/** Slots per process of our worker: its default WORKER_CONCURRENCY. */
const SLOTS = 10;

export interface Drained {
  contender: string;
  tasks: Scenario['name'];
  messages: number;
  /** Tasks running at once, in all its processes. */
  concurrency: number;
  startToReadyMs: number;
  perSecond: number;
  /** C ÷ mean task time, for sleeping tasks. */
  limitPerSecond?: number;
  peakRssMb: number;
  /** CPU in the steady state, in cores (CPU seconds ÷ seconds): the worker's process tree, the local SQS, the whole machine. */
  workerCores?: number;
  /** The worker's CPU by thread kind (see treeThreadCpuSeconds), in cores. */
  workerThreadCores?: Record<ThreadKind, number>;
  emulatorCores?: number;
  machineCores?: number;
  driverCores?: number;
}

interface Started {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Fills a fresh queue, starts a contender on it and times it until the queue is empty. Fresh: a
 * stopped contender's long poll stays open in fauxqs and would take the next run's first messages.
 * Our worker's queue is `<BE_WORKER_USER>-local-bench`, so each run has its own user.
 */
async function drain(
  { client: sqs, pid: sqsPid }: SqsProcess,
  each: Scenario,
  start: (user: string, queue: string) => Promise<Started>,
) {
  const user = `bench${++runNumber}`;
  const queue = `${user}-local-bench`;
  // The generated worker's example queue too: it consumes both.
  await provisionQueues(sqs, [queue, `${user}-local-prefork-add`], { visibilityTimeoutSeconds: 600 });
  const url = await resolveQueueUrl(sqs, queue);
  await sendAll(sqs, url, (index) => benchBody(each, index, queue), each.messages);
  const began = performance.now();
  let started: Started | undefined;
  let failed: unknown;
  const starting = start(user, queue).then(
    (value) => {
      started = value;
    },
    (error: unknown) => {
      failed = error;
    },
  );
  let firstTaken: number | undefined;
  // The worker's CPU beside the local SQS's and the whole machine's, to see what was left for it.
  const steady = await steadyState(each.messages, async () => ({
    worker: started ? await treeCpuSeconds(started.pid) : 0,
    ...(await treeThreadCpuSeconds(started?.pid)),
    localSqs: await cpuSeconds(sqsPid ?? 0),
    machine: await machineBusySeconds(),
    driver: cpuOfThisProcess(),
  }));
  let peakRssMb: (() => Promise<number>) | undefined;
  for (;;) {
    if (failed) throw failed;
    // The driver's own CPU is the machine's too: after the first message taken, one request a look.
    const [visible, left] = await Promise.all([
      firstTaken === undefined ? depth(sqs, [url], true) : 0,
      depth(sqs, [url]),
    ]);
    if (firstTaken === undefined && visible < each.messages) firstTaken = performance.now();
    if (started) {
      if (!alive(started.pid)) throw new Error(`the worker under test exited before the queue was empty: ${user}`);
      await steady.saw(left);
      peakRssMb ??= treeRssPeak(started.pid);
      await peakRssMb();
    }
    if (left === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const emptied = performance.now();
  const { perSecond, cores } = await steady.end();
  await starting;
  await started?.stop();
  return {
    startToReadyMs: round((firstTaken ?? emptied) - began, 0),
    perSecond,
    peakRssMb: round((await peakRssMb?.()) ?? 0, 1),
    workerCores: cores.worker,
    workerThreadCores: {
      main: cores.main,
      v8Helpers: cores.v8Helpers,
      workerThreads: cores.workerThreads,
      other: cores.other,
    },
    emulatorCores: cores.localSqs,
    machineCores: cores.machine,
    driverCores: cores.driver,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function ourWorker(folder: string, endpoint: string, processes: number, slots = SLOTS) {
  return async (user: string): Promise<Started> => {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: folder,
      env: {
        ...workerEnv(endpoint),
        BE_WORKER_USER: user,
        WORKER_PROCESSES: String(processes),
        WORKER_CONCURRENCY: String(slots),
        HTTP_PORT: String(await freePort()),
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    return {
      pid: child.pid ?? 0,
      async stop() {
        child.kill('SIGTERM');
        await exited;
      },
    };
  };
}

export async function benchCelery(quick: boolean): Promise<{ celery: string; runs: Drained[] }> {
  const python = await celeryPython('json');
  const sqs = await startSqsProcess();
  const parent = await mkdtemp(join(tmpdir(), 'cbw-bench-celery-'));
  try {
    const folder = generateWorker(parent, 'prefork', ['--none'], sqs.endpoint, true);
    const celeryApp = {
      app: 'bench_app',
      cwd: fileURLToPath(new URL('celery', import.meta.url)),
      pool: [] as string[],
    };
    const celeryEnv = (queue: string) => ({
      SQS_ENDPOINT: sqs.endpoint,
      ROUTES: {},
      PY_QUEUE: queue,
      HANDOFF_QUEUE: '',
      RESULT_LOG: '',
    });
    const contenders = [
      { contender: 'be-worker, 1 process', concurrency: SLOTS, start: ourWorker(folder, sqs.endpoint, 1) },
      { contender: 'be-worker, WORKER_PROCESSES=2', concurrency: 2 * SLOTS, start: ourWorker(folder, sqs.endpoint, 2) },
      // As many tasks at once as the pool, in one process: what a second process adds beyond its slots.
      {
        contender: `be-worker, 1 process, WORKER_CONCURRENCY=${2 * SLOTS}`,
        concurrency: 2 * SLOTS,
        start: ourWorker(folder, sqs.endpoint, 1, 2 * SLOTS),
      },
      {
        contender: 'Celery, prefork -c 2',
        concurrency: 2,
        start: (_user: string, queue: string) =>
          startCeleryWorker(python, celeryEnv(queue), { ...celeryApp, pool: ['-P', 'prefork', '-c', '2'] }),
      },
    ];
    const runs: Drained[] = [];
    for (const each of [scenario('noop', quick ? 300 : 10_000, 0), scenario('sleep', quick ? 40 : 400, 0)]) {
      const meanSeconds = each.sleeps.reduce((sum, ms) => sum + ms, 0) / each.sleeps.length / 1000;
      for (const { contender, concurrency, start } of contenders) {
        const run = await drain(sqs, each, start);
        runs.push({
          contender,
          tasks: each.name,
          messages: each.messages,
          concurrency,
          ...run,
          ...(each.name === 'sleep' ? { limitPerSecond: round(concurrency / meanSeconds, 0) } : {}),
        });
        console.log(
          `  ${each.name} ${contender}: ${run.perSecond}/s, ready in ${run.startToReadyMs} ms, ${run.peakRssMb} MB, worker ${run.workerCores} cores (${JSON.stringify(run.workerThreadCores)}), local SQS ${run.emulatorCores}, machine ${run.machineCores}, this driver ${run.driverCores}`,
        );
      }
    }
    return { celery: python.version, runs };
  } finally {
    await sqs.stop();
    await rm(parent, { recursive: true, force: true });
  }
}
