// WORKER_PROCESSES=N: the prefork pool's successor. The primary forks N worker processes, serves
// /healthz, /readyz and /metrics (summed over all of them), restarts one that dies, and on a
// signal tells them to stop. The processes ignore signals themselves, so a Ctrl-C that reaches
// the whole process group still means one graceful stop.
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { CoreConfig } from './config.ts';
import { startHttpServer } from './http.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { onStopSignals } from './signals.ts';
import type { Worker } from './worker.ts';

type Command = { beWorker: 'stop' } | { beWorker: 'force' };
type Report = { beWorker: 'ready'; ready: boolean };

export function isPrimary(): boolean {
  return cluster.isPrimary;
}

export async function runPrimary(config: CoreConfig, log: Logger): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const ready = new Map<number, boolean>();
  let stopping = false;

  const server = await startHttpServer({
    port: config.HTTP_PORT,
    metrics: () => aggregator.clusterMetrics(),
    metricsContentType: aggregator.contentType,
    isReady: () =>
      !stopping && ready.size === config.WORKER_PROCESSES && [...ready.values()].every((isReady) => isReady),
  });
  log.info({ port: config.HTTP_PORT, processes: config.WORKER_PROCESSES }, 'prefork primary listening');

  const children = () => Object.values(cluster.workers ?? {}).filter((child) => child !== undefined);
  const tell = (command: Command) => {
    for (const child of children()) child.send(command);
  };
  const shutdown = onStopSignals(log, {
    async stop() {
      stopping = true;
      const exited = children().map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
      tell({ beWorker: 'stop' });
      await Promise.all(exited);
      server.close();
      server.closeAllConnections();
      log.info('all worker processes stopped');
    },
    async force() {
      tell({ beWorker: 'force' });
    },
  });

  const fork = (slot: number): void => {
    const child = cluster.fork({ BE_WORKER_PROCESS: String(slot) });
    let started = false;
    ready.set(child.id, false);
    child.on('message', (message: Report) => {
      if (message?.beWorker !== 'ready') return;
      started = true;
      ready.set(child.id, message.ready);
    });
    child.on('exit', (code, signal) => {
      ready.delete(child.id);
      if (stopping) return;
      if (!started) {
        // It could not start (configuration, a missing queue): restarting would only loop.
        log.fatal({ slot, code }, 'a worker process could not start; stopping');
        process.exitCode = 1;
        void shutdown('SIGTERM');
        return;
      }
      log.error({ slot, code, signal }, 'worker process died; starting another');
      setTimeout(() => fork(slot), 1000);
    });
  };
  for (let slot = 0; slot < config.WORKER_PROCESSES; slot++) fork(slot);
}

/** A forked worker process: runs the queues, reports readiness, obeys the primary. */
export async function runChild(
  metrics: Metrics,
  start: () => Promise<{ worker: Worker; close(): Promise<void> } | undefined>,
  config: CoreConfig,
): Promise<void> {
  // Constructing one installs prom-client's answer to the primary's metric requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metrics.registry]);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => {});
  const started = await start();
  if (!started) process.exit();
  const { worker, close } = started;
  const sendReport = () => process.send?.({ beWorker: 'ready', ready: worker.isReady() } satisfies Report);
  sendReport();
  const report = setInterval(sendReport, 500);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(report);
    await worker.stop(config.SHUTDOWN_GRACE_SECONDS);
    await close();
    process.exit();
  };
  process.on('message', async (command: Command) => {
    if (command?.beWorker === 'stop') await stop();
    if (command?.beWorker === 'force') {
      await worker.releaseAll();
      process.exit(1);
    }
  });
  // The primary is gone: finish what is in flight and leave.
  process.on('disconnect', () => void stop());
}
