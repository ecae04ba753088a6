// WORKER_PROCESSES=N: the prefork pool's successor. The primary forks N worker processes, serves
// /healthz, /readyz and /metrics (summed over all of them), restarts one that dies, and on a
// signal tells them to stop. The processes ignore signals themselves, so a Ctrl-C that reaches
// the whole process group still means one graceful stop; if the primary dies, each one finishes
// what it has in flight and exits. The primary loads none of the work (tasks, integrations, the
// AWS SDK) and prom-client only when scraped: it forks sooner, and holds less.
import { type ChildProcess, fork } from 'node:child_process';
import type { CoreConfig } from './config.ts';
import { startHttpServer } from './http.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { onStopSignals, STOP_SIGNALS } from './signals.ts';
import { listenError } from './startup.ts';
import { backoffMs, processStopSeconds, within } from './timing.ts';
import { onUncaught } from './uncaught.ts';
import type { Worker } from './worker.ts';

type Command = { beWorker: 'stop' } | { beWorker: 'force' } | { beWorker: 'metrics'; request: number };
type Report =
  | { beWorker: 'status'; ready: boolean; alive: boolean }
  | { beWorker: 'metrics'; request: number; metrics: object[] }
  | { beWorker: 'failed'; line: string };

/** Set in the environment of each forked process: its slot number. */
const PROCESS_SLOT = 'BE_WORKER_PROCESS';
/** A process that has not reported for this long counts as stuck. */
const SILENCE_MS = 60_000;
/** A process that ran this long before it ended was no crash loop: the back-off starts over. */
const STEADY_MS = 60_000;

export function isPrimary(): boolean {
  return process.env[PROCESS_SLOT] === undefined;
}

/** The only process, or the first of a pool: the one that does what only one should. */
export function isFirstProcess(): boolean {
  return (process.env[PROCESS_SLOT] ?? '0') === '0';
}

interface Child {
  process: ChildProcess;
  /** It reported its status: the worker runs. */
  started: boolean;
  /** It said it cannot start (see sayStartFailure): its replacements would fail the same way. */
  failed: boolean;
  forkedAt: number;
  ready: boolean;
  alive: boolean;
  lastReport: number;
}

/**
 * Says why this process cannot start, on stderr; a pool's process tells the primary instead, which
 * says it once for all of them (each usually fails the same way: SQS unreachable, a queue missing).
 */
export function sayStartFailure(line: string): Promise<void> {
  const toStderr = () => void process.stderr.write(`${line}\n`);
  if (isPrimary() || !process.send || !process.connected) return Promise.resolve(toStderr());
  return new Promise((resolve) => {
    process.send?.({ beWorker: 'failed', line } satisfies Report, undefined, {}, (error) => {
      if (error) toStderr();
      resolve();
    });
  });
}

export async function runPrimary(config: CoreConfig, log: Logger): Promise<void> {
  const children = new Map<number, Child>();
  /** By slot: its restarts in a row, each after a process that ended within STEADY_MS: the back-off's attempt. */
  const restarts = new Map<number, number>();
  let stopping = false;
  let failureSaid = false;
  let requests = 0;
  const live = () =>
    [...children.values()].filter(({ process }) => process.exitCode === null && process.signalCode === null);

  /** Each process's metrics, summed; a process that does not answer within 2 s is left out. */
  const clusterMetrics = async () => {
    const [{ AggregatorRegistry }, all] = await Promise.all([
      import('prom-client'),
      Promise.all(live().map((child) => askMetrics(child.process, ++requests))),
    ]);
    const registry = AggregatorRegistry.aggregate(all.filter((metrics) => metrics !== undefined));
    return { text: await registry.metrics(), contentType: registry.contentType };
  };

  const server = await startHttpServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    metrics: clusterMetrics,
    isReady: () =>
      !stopping && children.size === config.WORKER_PROCESSES && [...children.values()].every((child) => child.ready),
    isAlive: () => [...children.values()].every((child) => child.alive && Date.now() - child.lastReport < SILENCE_MS),
  }).catch((error: unknown) => {
    throw listenError(error, config.HTTP_HOST, config.HTTP_PORT);
  });
  log.info({ port: config.HTTP_PORT, processes: config.WORKER_PROCESSES }, 'prefork primary listening');

  const tell = (command: Command) => {
    // A process exiting closes its channel before its exit is seen: a send to it fails, harmlessly.
    for (const child of live()) child.process.send(command, ignoreClosedChannel);
  };
  const exited = () =>
    Promise.all(live().map((child) => new Promise((resolve) => child.process.once('exit', resolve))));
  const shutdown = onStopSignals(log, {
    async stop() {
      stopping = true;
      tell({ beWorker: 'stop' });
      // Each process stops within its own deadline; one that has not by then (and a little more) is killed.
      const deadline = processStopSeconds(config.SHUTDOWN_GRACE_SECONDS) * 1000;
      const allExited = await within(
        deadline,
        exited().then(() => true),
        false,
      );
      if (!allExited) for (const child of live()) child.process.kill('SIGKILL');
      server.close();
      server.closeAllConnections();
      log.info('all worker processes stopped');
    },
    async force() {
      stopping = true;
      tell({ beWorker: 'force' });
      await within(1500, exited(), undefined);
    },
  });

  onUncaught(log, { stop: () => void shutdown('SIGTERM') });

  const start = (slot: number): void => {
    if (stopping) return;
    const child: Child = {
      process: fork(process.argv[1] ?? '', process.argv.slice(2), {
        env: { ...process.env, [PROCESS_SLOT]: String(slot) },
      }),
      started: false,
      failed: false,
      forkedAt: Date.now(),
      ready: false,
      alive: true,
      lastReport: Date.now(),
    };
    children.set(slot, child);
    child.process.on('message', (report: Report) => {
      if (report?.beWorker === 'failed') {
        child.failed = true;
        if (!failureSaid) process.stderr.write(`${report.line}\n`);
        failureSaid = true;
      }
      if (report?.beWorker !== 'status') return;
      Object.assign(child, { started: true, ready: report.ready, alive: report.alive, lastReport: Date.now() });
    });
    // 'close', not 'exit': by then every message it sent, a `failed` report too, has been read.
    child.process.on('close', (code, signal) => {
      child.ready = false;
      if (stopping || children.get(slot) !== child) return;
      if (child.failed) {
        // It could not start (configuration, a missing queue): restarting would only loop.
        log.fatal({ slot, code }, 'a worker process could not start; stopping');
        process.exitCode = 1;
        void shutdown('SIGTERM');
        return;
      }
      // Killed (the OOM killer, a kill -9, a crash), even before it reported: another one takes its place.
      const attempt = Date.now() - child.forkedAt < STEADY_MS ? (restarts.get(slot) ?? 0) + 1 : 1;
      restarts.set(slot, attempt);
      const delayMs = Math.round(backoffMs(attempt));
      log.error({ slot, code, signal, started: child.started, delayMs }, 'worker process ended; starting another');
      // Unref'd: a restart still pending when the pool stops must not keep the primary running.
      setTimeout(() => start(slot), delayMs).unref();
    });
  };
  for (let slot = 0; slot < config.WORKER_PROCESSES; slot++) start(slot);
}

/** A process's metrics, or undefined if it does not answer within 2 s (its event loop blocked). */
function askMetrics(child: ChildProcess, request: number): Promise<object[] | undefined> {
  return new Promise((resolve) => {
    const answer = (metrics: object[] | undefined) => {
      clearTimeout(timer);
      child.off('message', listen);
      resolve(metrics);
    };
    const listen = (report: Report) => {
      if (report?.beWorker === 'metrics' && report.request === request) answer(report.metrics);
    };
    const timer = setTimeout(() => answer(undefined), 2000);
    child.on('message', listen);
    child.send({ beWorker: 'metrics', request } satisfies Command, (error) => {
      if (error) answer(undefined);
    });
  });
}

/** Without a callback, a send on a closed channel is an 'error' event, which would end the primary. */
function ignoreClosedChannel(): void {}

/** A forked worker process: runs the queues, reports its state, obeys the primary. */
export async function runChild(
  metrics: Metrics,
  start: (onStuck: () => void) => Promise<{ worker: Worker; close(): Promise<void> }>,
  config: CoreConfig,
  log: Logger,
): Promise<void> {
  for (const signal of STOP_SIGNALS) process.on(signal, () => {});
  let reporting: NodeJS.Timeout | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping || !started) return;
    stopping = true;
    clearInterval(reporting);
    await started.worker.stop(config.SHUTDOWN_GRACE_SECONDS);
    await started.close();
    process.exit(process.exitCode ?? 0);
  };
  // A given-up run ends only with this process: stop, and exit 1 so the primary starts another.
  // A start that fails throws: runWorker says why and exits 1, and the primary stops.
  const started = await start(() => {
    process.exitCode = 1;
    void stop();
  });
  const { worker } = started;
  // An exception nobody caught: stop, and exit 1 so the primary starts another.
  onUncaught(log, { rejections: metrics.unhandledRejections, stop: () => void stop() });
  const report = () => {
    if (!process.connected) return;
    process.send?.({ beWorker: 'status', ready: worker.isReady(), alive: worker.isAlive() } satisfies Report);
  };
  report();
  reporting = setInterval(report, 500);
  process.on('message', async (command: Command) => {
    if (command?.beWorker === 'metrics') {
      const metricsJson = await metrics.registry.getMetricsAsJSON();
      process.send?.({ beWorker: 'metrics', request: command.request, metrics: metricsJson } satisfies Report);
    }
    if (command?.beWorker === 'stop') await stop();
    if (command?.beWorker === 'force') {
      await worker.releaseAll();
      process.exit(1);
    }
  });
  // The primary is gone (killed, crashed): finish what is in flight, give back the rest, and leave.
  process.on('disconnect', () => void stop());
}
