// createWorker as a library reports each step through `progress`: done only when it was done.
import { realpath, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorker } from '../../src/create.ts';
import { validateSpec } from '../../src/spec.ts';
import { tempDir } from '../support/process.ts';

const spec = validateSpec({
  name: 'lib-worker',
  description: 'From the library',
  queues: [{ queue: 'lib-worker-add', task: 'add' }],
  env: 'local',
  user: 'ann',
  region: 'us-west-1',
  packageManager: 'npm',
});

function recorder() {
  const events: string[] = [];
  return {
    events,
    progress: {
      start: (message: string) => events.push(`start ${message}`),
      stop: (message: string) => events.push(`done ${message}`),
      fail: (message: string) => events.push(`failed ${message}`),
    },
  };
}

const path = process.env.PATH;
afterEach(() => {
  process.env.PATH = path;
});

describe('createWorker progress', () => {
  it('shows the first commit done when made, and git missing as not done', async () => {
    const made = recorder();
    const committed = await createWorker(spec, {
      directory: `${await tempDir()}/w`,
      install: false,
      progress: made.progress,
    });
    expect(committed.git).toBe('committed');
    expect(made.events.slice(-2)).toEqual(['start Making the first git commit', 'done Made the first git commit']);

    // A PATH without git, with node and npm (from a clone, create packs it into vendor/ with npm).
    const bin = await tempDir();
    for (const tool of ['node', 'npm']) {
      const { stdout } = await execa('sh', ['-c', `command -v ${tool}`]);
      await symlink(await realpath(stdout.trim()), join(bin, tool));
    }
    process.env.PATH = bin;
    const missing = recorder();
    const result = await createWorker(spec, {
      directory: `${await tempDir()}/w`,
      install: false,
      progress: missing.progress,
    });
    expect(result.git).toBe('no-git');
    expect(missing.events.slice(-1)).toEqual(['failed git is not installed: no repository made']);
    expect(missing.events.some((event) => event.startsWith('done') && event.includes('git'))).toBe(false);
  });
});
