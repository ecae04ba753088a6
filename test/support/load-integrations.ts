// A generated worker's integrations, made as its worker process makes them: the configuration read
// from the environment (src/config/config.ts), then src/integrations/index.ts's integrations(). With
// record-imports.ts, it tells which modules that loads:
//   IMPORTS_LOG=… node --import=<record-imports.ts> test/support/load-integrations.ts <worker folder>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IntegrationContext, WorkerHooks } from '../../templates/worker/src/runtime/index.ts';

type Runtime = typeof import('../../templates/worker/src/runtime/index.ts');

const worker = process.argv[2] ?? '.';
const load = async <T>(path: string) => (await import(pathToFileURL(join(worker, path)).href)) as T;

const { loadConfig, workerName } = await load<{ loadConfig(): object; workerName: string }>('src/config/config.ts');
const rt = await load<Runtime>('src/runtime/index.ts');
const { integrations } = await load<{
  integrations(config: object, context: IntegrationContext): Promise<WorkerHooks[]>;
}>('src/integrations/index.ts');
const prefix = rt.metricPrefix(workerName);
await integrations(loadConfig(), {
  name: workerName,
  prefix,
  log: rt.createLogger(workerName, 'silent'),
  metrics: rt.createMetrics(prefix, { defaultMetrics: false }),
});
// Connections the integrations opened (to nothing: the tests give unused ports) end with the process.
process.exit(0);
