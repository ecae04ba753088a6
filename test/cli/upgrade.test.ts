// `be-worker upgrade` before it plans anything: the git checks. (Upgrades between two versions are
// in test/e2e/upgrade.test.ts.)
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CLI, REPO, startStub, tempDir } from '../support/process.ts';

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

  it.each(['latest', '9.9.9'])(
    '--to %s where the registry lacks the package: one sentence naming the registry, npm_config_registry and --base',
    async (to) => {
      const shop = await worker();
      // A registry that has nothing: npm meets a 404 for create-be-worker.
      const { url, server } = await startStub(() => ({ status: 404, json: { error: 'Not found' } }));
      try {
        const result = await execa('node', [BE_WORKER, 'upgrade', '--to', to, '--yes'], {
          cwd: shop,
          reject: false,
          all: true,
          stdin: 'ignore',
          env: { npm_config_registry: `${url}/` },
        });
        expect(result.exitCode, result.all).toBe(2);
        expect(result.stderr.trim()).toBe(
          `✖ the npm registry at ${url}/ has no create-be-worker@${to} (404): set npm_config_registry to the registry create-be-worker is published to, or leave out --to to upgrade to this be-worker's version (--base <tarball|dir> gives the version the worker was made with).`,
        );
        expect(result.all).not.toContain('npm error');
      } finally {
        server.close();
      }
    },
  );
});
