// A worker pins the create-be-worker that made it, so `npm run be-worker` in it runs that version: the
// exact version when the CLI was installed from a registry, the clone itself when it runs from one
// (a version npm may not have). The global set-up's worker was made from this clone and installed.
import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { CLI_VERSION, cliDependency, runsFromClone } from '../../src/version.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';

const repo = REPO.replace(/\/$/, '');

describe('the create-be-worker a worker pins', () => {
  it('is the exact version when installed by a package manager, the clone otherwise', () => {
    for (const installed of [
      '/home/ann/.npm/_npx/1a2b3c/node_modules/create-be-worker',
      '/usr/lib/node_modules/create-be-worker',
      '/srv/app/node_modules/.pnpm/create-be-worker@0.1.0/node_modules/create-be-worker',
    ]) {
      expect(runsFromClone(installed), installed).toBe(false);
      expect(cliDependency('npm', installed)).toBe(CLI_VERSION);
    }
    expect(runsFromClone('/home/ann/src/create-be-worker')).toBe(true);
    expect(cliDependency('npm', '/home/ann/src/create-be-worker')).toBe('file:/home/ann/src/create-be-worker');
    expect(cliDependency('pnpm', '/home/ann/src/create-be-worker')).toBe('link:/home/ann/src/create-be-worker');
  });

  it('is this clone for a worker made by its bin, and create says so', async () => {
    const cwd = await tempDir();
    const result = await execa('node', [CLI, 'cloned', '--no-install', '--no-git', '--user', 'ann'], {
      cwd,
      env: { CI: 'true', npm_config_user_agent: '' },
    });
    const pkg = JSON.parse(await readFile(join(cwd, 'cloned', 'package.json'), 'utf8'));
    expect(pkg.devDependencies['create-be-worker']).toBe(`file:${repo}`);
    expect(result.stdout).toContain(`runs from a clone, so the worker pins it as "create-be-worker": "file:${repo}"`);
  });

  it('runs with npm run be-worker, from any folder of the installed worker, as this clone', async () => {
    const worker = inject('allOnWorker');
    expect(await realpath(join(worker, 'node_modules', 'create-be-worker'))).toBe(await realpath(repo));
    const info = await execa('npm', ['run', '--silent', 'be-worker', '--', 'info'], {
      cwd: join(worker, 'src', 'config'),
      all: true,
    });
    expect(info.stdout).toContain(`all-on at ${await realpath(worker)}`);
    expect(info.stdout).toContain(`created with create-be-worker ${CLI_VERSION}`);
  });

  it('never downloads be-worker before the install: says in one sentence to install first', async () => {
    const cwd = await tempDir();
    await execa('node', [CLI, 'fresh', '--no-install', '--no-git', '--user', 'ann'], { cwd, env: { CI: 'true' } });
    // A registry that refuses every connection: a download attempt would show as a network error.
    const result = await execa('npm', ['run', '--silent', 'be-worker', '--', 'add-queue', 'images'], {
      cwd: join(cwd, 'fresh'),
      reject: false,
      all: true,
      env: { npm_config_registry: 'http://127.0.0.1:9/' },
    });
    expect(result.exitCode, result.all).toBe(2);
    expect(result.stderr.trim()).toBe('be-worker is not installed in this worker yet: run npm install first.');
    expect(result.stdout).toBe('');
  });
});

describe('the commands the documentation and the bins give', () => {
  it('never run npx be-worker, which would fetch a package we do not own when it is not installed', async () => {
    const cwd = await tempDir();
    await execa('node', [CLI, 'documented', '--no-install', '--no-git', '--user', 'ann', '--all'], {
      cwd,
      env: { CI: 'true' },
    });
    // Every file of the worker (its READMEs, the comments of its Dockerfile and CI, what its runtime
    // prints) and this repository's documents and sources.
    const worker = join(cwd, 'documented');
    const files = [
      join(REPO, 'README.md'),
      ...(await readdir(join(REPO, 'docs'))).map((name) => join(REPO, 'docs', name)),
      ...(await readdir(worker, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name)),
      ...(await readdir(join(REPO, 'src'), { recursive: true }))
        .filter((name) => name.endsWith('.ts'))
        .map((name) => join(REPO, 'src', name)),
    ];
    const found: string[] = [];
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, index) => {
        if (/npx be-worker/.test(line)) found.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });
});
