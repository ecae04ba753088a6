// The work of one process (run.ts imports it only there): the worker made from the configuration,
// either alone with its HTTP server, or as one process of a prefork pool (prefork.ts).
import type { CoreConfig } from './config.ts';
import { combineHooks } from './hooks.ts';
import { startHttpServer } from './http.ts';
import type { Logger } from './logger.ts';
import { watchEventLoop } from './loop-monitor.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { metricPrefix } from './naming.ts';
import { isFirstProcess, runChild } from './prefork.ts';
import type { Work } from './run.ts';
import { scheduleMetrics } from './schedule-metrics.ts';
import { type ResolvedSchedule, resolveSchedules } from './schedules.ts';
import { onStopSignals } from './signals.ts';
import type { SqsSettings } from './sqs.ts';
import { listenError } from './startup.ts';
import { onUncaught, taskContext } from './uncaught.ts';
import { startWorker, type Worker } from './worker.ts';

type NamedWork<Config extends CoreConfig> = Work<Config> & { name: string };
type CheckedWork<Config extends CoreConfig> = NamedWork<Config> & { resolvedSchedules: ResolvedSchedule[] };

export async function runWork<Config extends CoreConfig>(
  work: NamedWork<Config>,
  config: Config,
  sqs: SqsSettings,
  log: Logger,
): Promise<void> {
  // A schedule AWS or its task would refuse stops the start, as a bad setting does.
  const checked = { ...work, resolvedSchedules: resolveSchedules(work.schedules ?? [], work.tasks, work.queues) };
  const metrics = createMetrics(metricPrefix(work.name));
  watchEventLoop(log, metrics);
  if (config.WORKER_PROCESSES > 1) {
    return await runChild(
      metrics,
      (onStuck) => startFromConfig(checked, config, sqs, metrics, log, onStuck),
      config,
      log,
    );
  }
  return await runSingle(checked, config, sqs, metrics, log);
}

/** Starts the worker, or throws why it cannot (after closing what it opened). */
async function startFromConfig<Config extends CoreConfig>(
  { name, queues, tasks, routes, integrations, resolvedSchedules }: CheckedWork<Config>,
  config: Config,
  sqs: SqsSettings,
  metrics: Metrics,
  log: Logger,
  onStuck: () => void,
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const hooks = combineHooks([
    taskContext,
    scheduleMetrics(metrics, resolvedSchedules),
    ...((await integrations?.(config, { name, prefix: metricPrefix(name), log, metrics })) ?? []),
  ]);
  try {
    const worker = await startWorker({
      sqs,
      queues,
      tasks,
      routes,
      naming: { env: config.APP_ENV, user: config.BE_WORKER_USER },
      concurrency: config.WORKER_CONCURRENCY,
      waitTimeSeconds: config.RECEIVE_WAIT_SECONDS,
      metrics,
      log,
      hooks,
      shutdownGraceSeconds: config.SHUTDOWN_GRACE_SECONDS,
      etaHorizonDays: config.ETA_HORIZON_DAYS,
      // In a prefork pool the first process reads the depths for all.
      queueDepthIntervalSeconds: isFirstProcess() ? config.QUEUE_DEPTH_INTERVAL_SECONDS : 0,
      onStuck,
    });
    return { worker, close: () => hooks.close() };
  } catch (error) {
    await hooks.close();
    throw error;
  }
}

async function runSingle<Config extends CoreConfig>(
  work: CheckedWork<Config>,
  config: Config,
  sqs: SqsSettings,
  metrics: Metrics,
  log: Logger,
): Promise<void> {
  let worker: Worker | undefined;
  let stopping = false;
  const server = await startHttpServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    metrics: async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }),
    isReady: () => !stopping && (worker?.isReady() ?? false),
    isAlive: () => worker?.isAlive() ?? true,
  }).catch((error: unknown) => {
    throw listenError(error, config.HTTP_HOST, config.HTTP_PORT);
  });
  log.info({ host: config.HTTP_HOST, port: config.HTTP_PORT }, 'http server listening: /healthz /readyz /metrics');
  let shutdown: ((signal: NodeJS.Signals) => Promise<void>) | undefined;
  const started = await startFromConfig(work, config, sqs, metrics, log, () => {
    // A given-up run ends only with the process: stop as on SIGTERM, and exit 1 for the supervisor.
    process.exitCode = 1;
    void shutdown?.('SIGTERM');
  });
  worker = started.worker;
  const { close } = started;
  const running = worker;
  shutdown = onStopSignals(log, {
    async stop() {
      stopping = true;
      await running.stop(config.SHUTDOWN_GRACE_SECONDS);
      await close();
      server.close();
      server.closeAllConnections();
      // Given-back tasks that ignore their signal may still hold timers: do not wait for them.
      process.exit();
    },
    force: () => running.releaseAll(),
  });
  onUncaught(log, { rejections: metrics.unhandledRejections, stop: () => void shutdown?.('SIGTERM') });
}
