// loadSchedules on a worker as made, before its install: an empty list needs none of its code; an
// entry does, and its absence is one sentence saying to install.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderWorker } from '../../src/render.ts';
import { loadSchedules } from '../../src/schedules/load.ts';
import { appendSchedule, SCHEDULES_FILE } from '../../src/source/schedules-file.ts';
import { validateSpec } from '../../src/spec.ts';
import { applyTree } from '../../src/tree.ts';
import { tempDir } from '../support/process.ts';

async function uninstalled(): Promise<{ root: string; source: string }> {
  const answers = validateSpec({
    name: 'shop',
    description: 'Ships orders',
    queues: [{ queue: 'orders', task: 'ship' }],
    env: 'local',
    user: 'ann',
    region: 'eu-west-1',
    packageManager: 'npm',
    integrations: [],
  });
  const files = await renderWorker(answers);
  const root = join(await tempDir('cbw-load-'), 'shop');
  await applyTree(files, root);
  return { root, source: files.get(SCHEDULES_FILE) as string };
}

describe('loadSchedules before the worker is installed', () => {
  it('finds no schedules in the list as made, without running the worker (it has no node_modules)', async () => {
    const { root } = await uninstalled();
    expect(await loadSchedules(root)).toEqual([]);
  });

  it('with an entry, says to run npm install, in one sentence', async () => {
    const { root, source } = await uninstalled();
    const listed = appendSchedule(
      source,
      { name: 'daily', args: ['a'], expression: 'rate(1 day)' },
      { identifier: 'ship', specifier: '../tasks/ship.ts' },
    );
    await writeFile(join(root, SCHEDULES_FILE), listed);
    const error = await loadSchedules(root).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/could not be loaded: .*; run npm install in the worker first$/);
    expect((error as Error).message.split('\n')).toHaveLength(1);
  }, 30_000);
});
