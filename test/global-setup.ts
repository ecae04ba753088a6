// Once per test run: build the CLI bundle (the bins import it), and generate and install a worker
// with every integration, whose node_modules the integration tests share. Every temporary folder of
// the run, the tests' and those of the processes they start, is made in one, removed at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    allOnWorker: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = await mkdtemp(join(tmpdir(), 'cbw-run-'));
  // The test workers and every process they start inherit it: os.tmpdir() is this folder.
  process.env.TMPDIR = run;
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
  return () => rm(run, { recursive: true, force: true });
}
