// The bins under real older Node.js binaries: below 22.18 (the first 22.x that runs the generated
// worker's .ts scripts) they refuse in one sentence, before writing anything; from 22.18 they run.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeBinary } from '../support/node-binaries.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';

const BE_WORKER = join(REPO, 'bin', 'be-worker.js');
const TOO_OLD = ['22.12.0', '22.17.1'];
const OLDEST = '22.18.0';
const node: Record<string, string> = {};

beforeAll(async () => {
  for (const version of [...TOO_OLD, OLDEST]) node[version] = await nodeBinary(version);
}, 300_000);

describe('the bins on an older Node.js', () => {
  it(`refuse ${TOO_OLD.join(' and ')} in one sentence naming the version and the fix, writing nothing; run on ${OLDEST}`, async () => {
    for (const version of TOO_OLD) {
      const cwd = await tempDir();
      for (const [bin, args] of [
        [CLI, ['my-worker', '--no-install', '--no-git']],
        [BE_WORKER, ['info']],
      ] as const) {
        const result = await execa(node[version] ?? '', [bin, ...args], { cwd, reject: false, stdin: 'ignore' });
        expect(result.exitCode, result.stderr).toBe(2);
        const name = bin === CLI ? 'create-be-worker' : 'be-worker';
        expect(result.stderr).toBe(
          `${name} needs Node.js 22.18 or newer and this is v${version}: install Node.js 24 LTS (nvm install 24, or https://nodejs.org) and run it again.`,
        );
        expect(result.stdout).toBe('');
      }
      expect(await readdir(cwd)).toEqual([]);
    }

    const cwd = await tempDir();
    const created = await execa(node[OLDEST] ?? '', [CLI, 'my-worker', '--no-install', '--no-git'], {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      env: { CI: 'true' },
    });
    expect(created.exitCode, created.all).toBe(0);
    const info = await execa(node[OLDEST] ?? '', [BE_WORKER, 'info'], { cwd: join(cwd, 'my-worker'), reject: false });
    expect(info.exitCode, info.stderr).toBe(0);
    expect(info.stdout).toContain('my-worker-add');
  });

  it(`and the generated worker's npm scripts (scripts/check-node.cjs) refuse ${TOO_OLD.join(' and ')} in the same sentence, exit 2`, async () => {
    const cwd = await tempDir();
    await execa('node', [CLI, 'old-node', '--no-install', '--no-git'], { cwd, env: { CI: 'true' } });
    for (const version of TOO_OLD) {
      const result = await execa(node[version] ?? '', ['scripts/check-node.cjs'], {
        cwd: join(cwd, 'old-node'),
        reject: false,
        stdin: 'ignore',
      });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toBe(
        `old-node needs Node.js 22.18 or newer and this is v${version}: install Node.js 24 LTS (nvm install 24, or https://nodejs.org) and run it again.`,
      );
    }
    const oldest = await execa(node[OLDEST] ?? '', ['scripts/check-node.cjs'], { cwd: join(cwd, 'old-node') });
    expect(oldest.exitCode).toBe(0);
  });
});
