// The generated worker's runtime (templates/worker/src/runtime), configured as main.ts configures
// it, with one task: one long-polling consumer, `concurrency` slots, batched deletes.
import { z } from 'zod';
import { createLogger, createMetrics, defineTask, startWorker } from '../../templates/worker/src/runtime/index.ts';
import { benchPayloadStore } from '../large-payloads.ts';
import { benchTask, runConsumer } from './harness.ts';

runConsumer(async (settings, done) => {
  const task = defineTask({
    name: 'bench',
    args: z.tuple([z.number(), z.number()]).rest(z.string()),
    run: (args) => benchTask(args, done),
  });
  const payloads = settings.largePayloads ? await benchPayloadStore(settings.endpoint) : undefined;
  const worker = await startWorker({
    sqs: { region: settings.region, endpoint: settings.endpoint },
    queues: settings.queueNames.map((name) => ({ queue: name.replace(/^bench-local-/, ''), task: 'bench' })),
    tasks: [task],
    naming: { env: 'local', user: 'bench' },
    concurrency: settings.concurrency,
    metrics: createMetrics('bench'),
    log: createLogger('bench', 'silent'),
    ...(payloads ? { hooks: { payloads } } : {}),
  });
  return async () => {
    await worker.stop(5);
    payloads?.close();
  };
});
