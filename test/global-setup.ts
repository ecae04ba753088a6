// Once per test run: build the CLI bundle (the bins import it), and generate and install a worker
// with every integration, whose node_modules the integration tests share.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    allOnWorker: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const repo = new URL('..', import.meta.url);
  await execa('npx', ['tsup', '--silent'], { cwd: repo });
  const parent = await mkdtemp(join(tmpdir(), 'cbw-all-on-'));
  await execa(
    'node',
    [join(repo.pathname, 'bin', 'create-be-worker.js'), 'all-on', '--all', '--no-git', '--user', 'itest'],
    {
      cwd: parent,
      env: { CI: 'true' },
    },
  );
  project.provide('allOnWorker', join(parent, 'all-on'));
}
