// The worker process: config → HTTP server → worker, and a clean stop on SIGTERM/SIGINT. With
// WORKER_PROCESSES > 1 the work is forked (prefork.ts). These two files and signals.ts are the
// only runtime code that touches process-level state: signals, forks and the exit code.
import type { TaskRoutes } from './canvas.ts';
import type { CoreConfig } from './config.ts';
import { combineHooks, type IntegrationContext, type WorkerHooks } from './hooks.ts';
import { startHttpServer } from './http.ts';
import { createLogger, type Logger } from './logger.ts';
import { watchEventLoop } from './loop-monitor.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { metricPrefix } from './naming.ts';
import { isFirstProcess, isPrimary, runChild, runPrimary } from './prefork.ts';
import type { QueueBinding } from './queues.ts';
import { onStopSignals } from './signals.ts';
import type { SqsSettings } from './sqs.ts';
import { describeSqsTarget, explainStartupError, listenError, type SqsTarget, sqsTarget } from './startup.ts';
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

/**
 * Runs the worker. A start-up failure (configuration, a port in use, SQS unreachable, a missing
 * queue) is one line on stderr with the fix, and exit code 1; its stack only at LOG_LEVEL=debug.
 */
export async function runWorker<Config extends CoreConfig>(options: RunOptions<Config>): Promise<void> {
  let target: SqsTarget | undefined;
  let log: Logger | undefined;
  try {
    const config = await options.loadConfig();
    target = sqsTarget(config);
    const logger = createLogger(options.name, config.LOG_LEVEL);
    log = logger;
    logger.info(describeSqsTarget(target));
    const sqs = { region: config.AWS_REGION, endpoint: target.endpoint };
    if (config.WORKER_PROCESSES > 1 && isPrimary()) return await runPrimary(config, logger);
    const metrics = createMetrics(metricPrefix(options.name));
    watchEventLoop(logger, metrics);
    if (config.WORKER_PROCESSES > 1) {
      const start = (onStuck: () => void) => startFromConfig(options, config, sqs, metrics, logger, onStuck);
      return await runChild(metrics, start, config);
    }
    return await runSingle(options, config, sqs, metrics, logger);
  } catch (error) {
    log?.debug({ err: error }, 'start-up failed');
    const hint = log ? ' (LOG_LEVEL=debug logs its stack)' : '';
    process.stderr.write(`${options.name} cannot start: ${explainStartupError(error, target, hint)}\n`);
    // Whatever the failed start left open (a Redis connection, a timer) must not keep it running.
    process.exit(1);
  }
}

/** Starts the worker, or throws why it cannot (after closing what it opened). */
async function startFromConfig<Config extends CoreConfig>(
  { name, queues, tasks, routes, integrations }: RunOptions<Config>,
  config: Config,
  sqs: SqsSettings,
  metrics: Metrics,
  log: Logger,
  onStuck: () => void,
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const hooks = combineHooks(integrations?.(config, { name, prefix: metricPrefix(name), log, metrics }) ?? []);
  try {
    const worker = await startWorker({
      sqs,
      queues,
      tasks,
      routes,
      naming: { env: config.APP_ENV, user: config.BE_WORKER_USER },
      concurrency: config.WORKER_CONCURRENCY,
      metrics,
      log,
      hooks,
      shutdownGraceSeconds: config.SHUTDOWN_GRACE_SECONDS,
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
  options: RunOptions<Config>,
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
    metrics: () => metrics.registry.metrics(),
    metricsContentType: metrics.registry.contentType,
    isReady: () => !stopping && (worker?.isReady() ?? false),
    isAlive: () => worker?.isAlive() ?? true,
  }).catch((error: unknown) => {
    throw listenError(error, config.HTTP_HOST, config.HTTP_PORT);
  });
  log.info({ host: config.HTTP_HOST, port: config.HTTP_PORT }, 'http server listening: /healthz /readyz /metrics');
  let shutdown: ((signal: NodeJS.Signals) => Promise<void>) | undefined;
  const started = await startFromConfig(options, config, sqs, metrics, log, () => {
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
}
