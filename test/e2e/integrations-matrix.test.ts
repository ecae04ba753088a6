// Integrations are chosen at create time: every combination CI proves — none, all, each alone —
// generates a worker that typechecks, lints and passes its own tests, contains exactly the chosen
// integrations, and whose compiled JavaScript starts as the image starts it. The workers share the
// node_modules of the all-on worker of the global set-up.
import { readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INTEGRATION_NAMES } from '../../src/integrations/index.ts';
import { CLI, freePort, tempDir, waitFor } from '../support/process.ts';
import { type SqsProcess, startSqsProcess } from '../support/sqs.ts';

const combinations: [string, string[], string[]][] = [
  ['none', ['--none'], []],
  ['all', ['--all'], [...INTEGRATION_NAMES]],
  ...INTEGRATION_NAMES.map((name): [string, string[], string[]] => [name, ['--with', name], [name]]),
];

let sqs: SqsProcess;
beforeAll(async () => {
  sqs = await startSqsProcess();
});
afterAll(() => sqs.stop());

describe.each(combinations)('a worker with %s', (_label, flags, chosen) => {
  it('contains exactly the chosen integrations, passes typecheck, lint and its tests, and starts compiled', async () => {
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

    for (const script of ['typecheck', 'lint', 'test', 'build']) {
      const result = await execa('npm', ['run', script], { cwd: worker, reject: false, all: true });
      expect(result.exitCode, `npm run ${script}:\n${result.all}`).toBe(0);
    }

    // What docker compose runs in the image: every module of dist/ loads under plain node.
    const port = await freePort();
    const runEnv = { SQS_ENDPOINT: sqs.endpoint, HTTP_PORT: String(port), BE_WORKER_USER: 'matrix' };
    const started = execa('sh', ['-c', 'node dist/local-queues.js && exec node dist/main.js'], {
      cwd: worker,
      env: runEnv,
      reject: false,
      all: true,
      // An idle worker's stop lets its open long poll finish (up to 10 s): no SIGKILL after 5 s.
      forceKillAfterDelay: false,
    });
    try {
      await waitFor(
        '/readyz',
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok || undefined,
      );
    } finally {
      started.kill('SIGTERM');
    }
    const { exitCode, all } = await started;
    expect(exitCode, all).toBe(0);
  }, 180_000);
});
