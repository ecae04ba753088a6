// The worker process: config → HTTP server → worker, and a clean stop on SIGTERM/SIGINT. With
// WORKER_PROCESSES > 1 the work is forked (prefork.ts). These two files and signals.ts are the
// only runtime code that touches process-level state: signals, forks and the exit code.
import type { TaskRoutes } from './canvas.ts';
import type { CoreConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { combineHooks, type IntegrationContext, type WorkerHooks } from './hooks.ts';
import { startHttpServer } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { watchEventLoop } from './loop-monitor.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { metricPrefix } from './naming.ts';
import { isPrimary, runChild, runPrimary } from './prefork.ts';
import type { QueueBinding } from './queues.ts';
import { onStopSignals } from './signals.ts';
import type { TaskDefinition } from './task.ts';
import { startWorker, type Worker } from './worker.ts';

export interface RunOptions<Config extends CoreConfig = CoreConfig> {
  name: string;
  /** Reads the configuration; may be async (secrets from Vault). */
  loadConfig(): Config | Promise<Config>;
  queues: readonly QueueBinding[];
  tasks: readonly TaskDefinition[];
  /** The fleet's task_routes (src/config/routes.ts): where a chain's next step, a link or a link_error goes. */
  routes?: TaskRoutes;
  /** The chosen integrations' hooks, made from the configuration. */
  integrations?(config: Config, context: IntegrationContext): WorkerHooks[];
}

export async function runWorker<Config extends CoreConfig>(options: RunOptions<Config>): Promise<void> {
  let config: Config;
  try {
    config = await options.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${options.name}: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const log = createLogger(options.name, config.LOG_LEVEL);
  if (config.WORKER_PROCESSES > 1 && isPrimary()) return runPrimary(config, log);
  const metrics = createMetrics(metricPrefix(options.name));
  watchEventLoop(log, metrics);
  if (config.WORKER_PROCESSES > 1) {
    return runChild(metrics, (onStuck) => startFromConfig(options, config, metrics, log, onStuck), config);
  }
  return runSingle(options, config, metrics, log);
}

/** Starts the worker, or says why it cannot and sets exit code 1. */
async function startFromConfig<Config extends CoreConfig>(
  { name, queues, tasks, routes, integrations }: RunOptions<Config>,
  config: Config,
  metrics: Metrics,
  log: Logger,
  onStuck: () => void,
): Promise<{ worker: Worker; close(): Promise<void> } | undefined> {
  const hooks = combineHooks(integrations?.(config, { name, prefix: metricPrefix(name), log, metrics }) ?? []);
  try {
    const worker = await startWorker({
      sqs: { region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT },
      queues,
      tasks,
      routes,
      naming: { env: config.APP_ENV, user: config.BE_WORKER_USER },
      concurrency: config.WORKER_CONCURRENCY,
      metrics,
      log,
      hooks,
      shutdownGraceSeconds: config.SHUTDOWN_GRACE_SECONDS,
      onStuck,
    });
    return { worker, close: () => hooks.close() };
  } catch (error) {
    log.fatal({ err: error }, `${name} cannot start: ${(error as Error).message}`);
    await hooks.close();
    process.exitCode = 1;
    return undefined;
  }
}

async function runSingle<Config extends CoreConfig>(
  options: RunOptions<Config>,
  config: Config,
  metrics: Metrics,
  log: Logger,
): Promise<void> {
  let worker: Worker | undefined;
  let stopping = false;
  const server = await startHttpServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    metrics: () => metrics.registry.metrics(),
    metricsContentType: metrics.registry.contentType,
    isReady: () => !stopping && (worker?.isReady() ?? false),
    isAlive: () => worker?.isAlive() ?? true,
  });
  log.info({ host: config.HTTP_HOST, port: config.HTTP_PORT }, 'http server listening: /healthz /readyz /metrics');
  let shutdown: ((signal: NodeJS.Signals) => Promise<void>) | undefined;
  const started = await startFromConfig(options, config, metrics, log, () => {
    // A given-up run ends only with the process: stop as on SIGTERM, and exit 1 for the supervisor.
    process.exitCode = 1;
    void shutdown?.('SIGTERM');
  });
  if (!started) {
    server.close();
    return;
  }
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
}
