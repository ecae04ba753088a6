// The soak of soak.test.ts, smaller, with an idempotent task and a real redis-server: workers
// SIGKILLed at random moments, SQS failing a third of the deletes (each one a redelivery) and most
// lease extensions (leases lost while tasks longer than the visibility timeout run), throttling.
// Every task's side effect (a line `<id> <pid>` in the run log) must happen exactly once — except
// where idempotency cannot help: a run whose process was killed after its side effect and before
// its key was marked completed. Such a run is in the log with the pid of a process this test killed.
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest';
import { fullQueueName } from '../../templates/worker/src/runtime/naming.ts';
import { type FaultyNetwork, startFaultyNetwork } from '../support/faulty-network.ts';
import { freePort, tempDir, waitFor } from '../support/process.ts';
import { createQueues, depth, type SqsProcess, startSqsProcess } from '../support/sqs.ts';
import { requireTools } from '../support/tools.ts';
import { killWorkers, MINUTE, ran, sendTasks, startWorkerProcess, type WorkerProcess } from '../support/workers.ts';

const TASKS = 600;
const CONCURRENCY = 10;
const VISIBILITY_SECONDS = 5;

let sqs: SqsProcess;
let network: FaultyNetwork;
let redis: ResultPromise;
let redisPort: number;

beforeAll(async () => {
  await requireTools(['redis-server', 'redis-cli']);
  redisPort = await freePort();
  redis = execa('redis-server', ['--port', String(redisPort), '--save', '', '--appendonly', 'no'], { reject: false });
  await waitFor('redis', async () =>
    (await execa('redis-cli', ['-p', String(redisPort), 'ping'], { reject: false })).stdout === 'PONG'
      ? true
      : undefined,
  );
  sqs = await startSqsProcess();
  network = await startFaultyNetwork(sqs.endpoint);
}, MINUTE);
afterAll(async () => {
  await network?.close();
  await sqs?.stop();
  redis?.kill('SIGKILL');
});
afterEach(async () => {
  network.inject([]);
  network.failEntries(['DeleteMessageBatch'], 0);
  await killWorkers();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.random() * (max - min);

it(
  'runs the side effect of each of 600 idempotent tasks once through SIGKILLs, failing deletes, lost leases and throttling; only a run killed between its side effect and its completion repeats',
  async () => {
    const user = 'idsoak';
    const queue = fullQueueName('onces', { env: 'local', user });
    // SQS's redrive after 20 receives: kills, lost leases and waits for a busy key receive it often.
    await createQueues(sqs, [queue], { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: 20 });
    const RUN_LOG = join(await tempDir('cbw-runlog-'), 'ran.log');
    const env = {
      RUN_LOG,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      SHUTDOWN_GRACE_SECONDS: '5',
      IDEMPOTENCY_MODULE: join(inject('allOnWorker'), 'src', 'integrations', 'idempotency.ts'),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    };
    const start = () => startWorkerProcess(network, user, env, { queue: 'onces', task: 'once' });
    const killed = new Set<number>();
    const counted = { duplicate: 0, leaseLost: 0, deleteFailed: 0, busy: 0 };
    const count = async (worker: WorkerProcess) => {
      counted.duplicate += await worker.metric('duplicate');
      counted.leaseLost += await worker.metric('lease_lost', 'consumer');
      counted.deleteFailed += await worker.metric('delete_failed', 'consumer');
      const busy = /test_worker_idempotency_busy_total\{[^}]*\} (\d+)/.exec(await worker.metrics());
      counted.busy += Number(busy?.[1] ?? 0);
    };
    const kill = async (worker: WorkerProcess) => {
      await count(worker);
      killed.add(worker.process.pid as number);
      worker.process.kill('SIGKILL');
      await worker.process;
    };

    network.inject([
      // Most lease extensions fail: tasks longer than the visibility timeout lose their leases.
      { operations: ['ChangeMessageVisibilityBatch'], error: 'throttled', probability: 0.6, when: 'before' },
      { operations: ['ReceiveMessage', 'SendMessage'], error: 'throttled', probability: 0.1, when: 'before' },
    ]);
    // A third of the deletes do not happen: each of those messages is delivered again.
    network.failEntries(['DeleteMessageBatch'], 0.3);
    // 50–250 ms each, every 20th 6–9 s: longer than the visibility timeout.
    const lengths = Array.from({ length: TASKS }, (_, index) =>
      index % 20 === 0 ? Math.round(between(6000, 9000)) : Math.round(between(50, 250)),
    );
    const ids = await sendTasks(
      sqs,
      user,
      lengths.map((ms) => [ms]),
      { queue: 'onces', task: 'once' },
    );

    let first = await start();
    let second = await start();
    for (let round = 0; round < 3; round++) {
      await pause(between(1500, 3000));
      await kill(first);
      first = second;
      second = await start();
    }
    await waitFor(
      'every task to run',
      async () => {
        const done = new Set((await ran(RUN_LOG)).map((line) => line.split(' ')[0]));
        return ids.every((id) => done.has(id)) ? true : undefined;
      },
      4 * MINUTE,
    );
    await waitFor('an empty queue', async () => ((await depth(sqs, queue)) === 0 ? true : undefined), 2 * MINUTE);
    for (const worker of [first, second]) {
      await count(worker);
      worker.process.kill('SIGTERM');
      const { exitCode, all } = await worker.process;
      expect(exitCode, String(all)).toBe(0);
    }

    const runs = (await ran(RUN_LOG)).map((line) => {
      const [id = '', pid = ''] = line.split(' ');
      return { id, pid: Number(pid) };
    });
    const byId = new Map<string, number[]>();
    for (const { id, pid } of runs) byId.set(id, [...(byId.get(id) ?? []), pid]);
    expect(new Set(byId.keys())).toEqual(new Set(ids));
    // A side effect that ran twice: every run of it but one was in a process killed afterwards.
    const repeated = [...byId].filter(([, pids]) => pids.length > 1);
    for (const [id, pids] of repeated) {
      expect(pids.filter((pid) => !killed.has(pid)).length, `${id} ran in ${pids.join(', ')}`).toBeLessThanOrEqual(1);
      expect(pids.filter((pid) => killed.has(pid)).length, `${id} ran in ${pids.join(', ')}`).toBeGreaterThanOrEqual(
        pids.length - 1,
      );
    }
    // Every key is completed in Redis: a copy arriving later is only deleted.
    const stored = await execa('redis-cli', ['-p', String(redisPort), '--scan', '--pattern', 'be-worker:*:idem:*']);
    const keys = stored.stdout.split('\n').filter(Boolean);
    expect(keys).toHaveLength(TASKS);
    const values = await execa('redis-cli', ['-p', String(redisPort), 'mget', ...keys]);
    expect(values.stdout.split('\n').filter((value) => !value.startsWith('done:'))).toEqual([]);
    console.info(
      `idempotency soak: ${TASKS} tasks, ${runs.length} side effects, ${repeated.length} repeated (runs killed before completing), counted ${JSON.stringify(counted)}; proxy ${JSON.stringify(network.counts())}`,
    );
    // The faults did make copies, and idempotency dropped them: a failed delete is delivered again.
    expect(counted.duplicate).toBeGreaterThan(0);
    // A kill cuts off what it has in flight at most.
    expect(repeated.length).toBeLessThanOrEqual(killed.size * CONCURRENCY);
  },
  8 * MINUTE,
);
