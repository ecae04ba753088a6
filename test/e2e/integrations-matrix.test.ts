// Integrations are chosen at create time: every combination CI proves — none, all, each alone —
// generates a worker that typechecks, lints and passes its own tests, and contains exactly the
// chosen integrations. The workers share the node_modules of the all-on worker of the global set-up.
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { INTEGRATION_NAMES } from '../../src/integrations/index.ts';
import { CLI, tempDir } from '../support/process.ts';

const combinations: [string, string[], string[]][] = [
  ['none', ['--none'], []],
  ['all', ['--all'], [...INTEGRATION_NAMES]],
  ...INTEGRATION_NAMES.map((name): [string, string[], string[]] => [name, ['--with', name], [name]]),
];

describe.each(combinations)('a worker with %s', (_label, flags, chosen) => {
  it('contains exactly the chosen integrations, and passes typecheck, lint and its tests', async () => {
    const cwd = await tempDir();
    await execa('node', [CLI, 'combo', ...flags, '--no-install', '--no-git', '--user', 'matrix'], { cwd });
    const worker = join(cwd, 'combo');
    await symlink(join(inject('allOnWorker'), 'node_modules'), join(worker, 'node_modules'));
    const read = (path: string) => readFile(join(worker, path), 'utf8').catch(() => undefined);

    expect(JSON.parse((await read('be-worker.json')) ?? '{}').answers.integrations).toEqual(chosen);
    const pkg = JSON.parse((await read('package.json')) ?? '{}');
    const readme = (await read('README.md')) ?? '';
    const env = (await read('.env.example')) ?? '';
    for (const name of INTEGRATION_NAMES) {
      const on = chosen.includes(name);
      expect(await read(`src/integrations/${name}.ts`), name).toSatisfy((file) => (file !== undefined) === on);
      expect(readme.includes(`### ${name}`), name).toBe(on);
      expect(env.includes(`# ${name}:`), name).toBe(on);
    }
    // Vault adds to the configuration only; the others plug into the running worker.
    expect(Boolean(await read('src/integrations/index.ts'))).toBe(chosen.some((name) => name !== 'vault'));
    expect('@sentry/node' in pkg.dependencies).toBe(chosen.includes('sentry'));

    for (const script of ['typecheck', 'lint', 'test']) {
      const result = await execa('npm', ['run', script], { cwd: worker, reject: false, all: true });
      expect(result.exitCode, `npm run ${script}:\n${result.all}`).toBe(0);
    }
  }, 180_000);
});
