// `be-worker upgrade` before it plans anything: the git checks. (Upgrades between two versions are
// in test/e2e/upgrade.test.ts.)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const upgrade = (cwd: string, ...args: string[]) =>
  execa('node', [BE_WORKER, 'upgrade', ...args], { cwd, reject: false, all: true, stdin: 'ignore' });

async function worker(...args: string[]): Promise<string> {
  const cwd = await tempDir();
  await execa('node', [CLI, 'shop', '--user', 'ann', '--no-install', ...args], { cwd, env: { CI: 'true' } });
  return join(cwd, 'shop');
}

describe('be-worker upgrade', () => {
  it('refuses a worker that is not in git, saying how to fix it', async () => {
    const result = await upgrade(await worker('--no-git'), '--yes');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('is not in a git repository: commit the worker first');
  });

  it('goes on with changes not committed when told to with --allow-dirty', async () => {
    const shop = await worker();
    await writeFile(join(shop, 'README.md'), 'Ours\n');
    expect((await upgrade(shop, '--yes')).exitCode).toBe(1);
    const result = await upgrade(shop, '--yes', '--allow-dirty');
    expect(result.exitCode, result.all).toBe(0);
    expect(result.stdout).toContain('shop is at create-be-worker');
  });
});
