// The worker process: config → HTTP server → worker, and a clean stop on SIGTERM/SIGINT.
// This is the only runtime code that touches process-level state (signals, exit code).
import type { Server } from 'node:http';
import type { CoreConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { startHttpServer } from './http.ts';
import { createLogger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { metricPrefix } from './naming.ts';
import type { QueueBinding } from './queues.ts';
import { createSqsClient } from './sqs.ts';
import type { TaskDefinition } from './task.ts';
import { startWorker } from './worker.ts';

export interface RunOptions {
  name: string;
  loadConfig(): CoreConfig;
  queues: readonly QueueBinding[];
  tasks: readonly TaskDefinition[];
}

export async function runWorker({ name, loadConfig, queues, tasks }: RunOptions): Promise<void> {
  let config: CoreConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const log = createLogger(name, config.LOG_LEVEL);
  const metrics = createMetrics(metricPrefix(name));
  let ready = (): boolean => false;
  const server: Server = await startHttpServer({
    port: config.HTTP_PORT,
    registry: metrics.registry,
    isReady: () => ready(),
  });
  const address = server.address();
  log.info(
    { port: typeof address === 'object' ? address?.port : address },
    'http server listening: /healthz /readyz /metrics',
  );

  const sqs = createSqsClient({ region: config.AWS_REGION, endpoint: config.SQS_ENDPOINT });
  let worker: Awaited<ReturnType<typeof startWorker>>;
  try {
    worker = await startWorker({
      sqs,
      queues,
      tasks,
      naming: { env: config.APP_ENV, user: config.BE_WORKER_USER },
      concurrency: config.WORKER_CONCURRENCY,
      metrics,
      log,
    });
  } catch (error) {
    log.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    server.close();
    sqs.destroy();
    process.exitCode = 1;
    return;
  }
  ready = worker.isReady;

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    ready = () => false;
    await worker.stop(config.SHUTDOWN_GRACE_SECONDS);
    sqs.destroy();
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
