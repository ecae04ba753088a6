// The worker process: config → HTTP server → worker, and a clean stop on SIGTERM/SIGINT/SIGHUP. With
// WORKER_PROCESSES > 1 the work is forked (prefork.ts), and the primary never loads it: what the
// worker runs (work.ts, the tasks, the AWS SDK) is imported only in the process that runs it.
// These files, signals.ts and uncaught.ts are the only runtime code that touches process-level
// state: signals, forks, uncaught errors and the exit code.
import type { TaskRoutes } from './canvas.ts';
import type { CoreConfig } from './config.ts';
import type { IntegrationContext, WorkerHooks } from './hooks.ts';
import { createLogger, type Logger } from './logger.ts';
import { isPrimary, runPrimary, sayStartFailure } from './prefork.ts';
import type { QueueBinding } from './queues.ts';
import type { ScheduleEntry } from './schedules.ts';
import { describeSqsTarget, explainStartupError, type SqsTarget, sqsTarget } from './startup.ts';
import type { TaskDefinition } from './task.ts';

/** What the worker runs. */
export interface Work<Config extends CoreConfig = CoreConfig> {
  queues: readonly QueueBinding[];
  tasks: readonly TaskDefinition[];
  /** The fleet's task_routes (src/config/routes.ts): where a chain's next step, a link or a link_error goes. */
  routes?: TaskRoutes;
  /** src/config/schedules.ts: checked at start-up; tasks they start are counted per schedule. */
  schedules?: readonly ScheduleEntry[];
  /** The chosen integrations' hooks, made from the configuration: async, as each imports its libraries if on. */
  integrations?(config: Config, context: IntegrationContext): WorkerHooks[] | Promise<WorkerHooks[]>;
}

export interface RunOptions<Config extends CoreConfig = CoreConfig> {
  name: string;
  /** Reads the configuration; may be async (secrets from Vault). */
  loadConfig(): Config | Promise<Config>;
  /** Imports what the worker runs: called only in a process that runs it, never in a prefork primary. */
  loadWork(): Work<Config> | Promise<Work<Config>>;
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
    if (config.WORKER_PROCESSES > 1 && isPrimary()) return await runPrimary(config, logger);
    const [{ runWork }, work] = await Promise.all([import('./work.ts'), options.loadWork()]);
    const sqs = { region: config.AWS_REGION, endpoint: target.endpoint };
    return await runWork({ name: options.name, ...work }, config, sqs, logger);
  } catch (error) {
    log?.debug({ err: error }, 'start-up failed');
    const hint = log ? ' (LOG_LEVEL=debug logs its stack)' : '';
    await sayStartFailure(`${options.name} cannot start: ${explainStartupError(error, target, hint)}`);
    // Whatever the failed start left open (a Redis connection, a timer) must not keep it running.
    process.exit(1);
  }
}
