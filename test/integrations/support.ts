// The integration tests run the integrations as generated: modules of the all-on worker of the
// global set-up, with that worker's runtime and dependencies.
import { join } from 'node:path';
import { inject } from 'vitest';

type Runtime = typeof import('../../templates/worker/src/runtime/index.ts');

export async function generated<T>(path: string): Promise<T> {
  return (await import(join(inject('allOnWorker'), path))) as T;
}

export const runtime = () => generated<Runtime>('src/runtime/index.ts');

/** The sum of a worker_tasks_count series over the given labels. */
export async function count(
  metrics: Awaited<ReturnType<Runtime['createMetrics']>>,
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metrics.workerTasks.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key as 'name'] === expected))
    .reduce((sum, { value }) => sum + value, 0);
}
