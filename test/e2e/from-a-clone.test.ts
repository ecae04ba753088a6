// A worker pins the create-be-worker that made it, so `npm run be-worker` in it runs that version: the
// exact version when the CLI was installed from a registry; run from a clone (a version no registry
// may have), the clone packed into the worker's vendor/, so the worker installs anywhere as made.
// The global set-up's worker was made from this clone and installed.
import { cp, mkdir, readdir, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { cliDependency, registryToRemember, vendoredPathOf } from '../../src/cli-source.ts';
import { templatesOf } from '../../src/identity.ts';
import { CLI_VERSION, runsFromClone } from '../../src/version.ts';
import { CLI, REPO, tempDir } from '../support/process.ts';

const VENDORED = `vendor/create-be-worker-${CLI_VERSION}.tgz`;

describe('the create-be-worker a worker pins', () => {
  it('is the exact version when installed by a package manager, the vendored clone otherwise', () => {
    for (const installed of [
      '/home/ann/.npm/_npx/1a2b3c/node_modules/create-be-worker',
      '/usr/lib/node_modules/create-be-worker',
      '/srv/app/node_modules/.pnpm/create-be-worker@0.1.0/node_modules/create-be-worker',
    ]) {
      expect(runsFromClone(installed), installed).toBe(false);
      expect(cliDependency(installed)).toBe(CLI_VERSION);
    }
    expect(runsFromClone('/home/ann/src/create-be-worker')).toBe(true);
    expect(cliDependency('/home/ann/src/create-be-worker')).toBe(`file:${VENDORED}`);
    expect(vendoredPathOf(`file:${VENDORED}`)).toBe(VENDORED);
    for (const pin of ['0.2.0', 'file:/home/ann/src/create-be-worker', 'file:../x.tgz', undefined]) {
      expect(vendoredPathOf(pin), String(pin)).toBeUndefined();
    }
  });

  it('remembers a registry that is not the public one, as npm names it', () => {
    expect(registryToRemember({})).toBeUndefined();
    expect(registryToRemember({ npm_config_registry: 'https://registry.npmjs.org/' })).toBeUndefined();
    expect(registryToRemember({ npm_config_registry: 'https://registry.npmjs.org' })).toBeUndefined();
    expect(registryToRemember({ npm_config_registry: 'http://127.0.0.1:4873' })).toBe('http://127.0.0.1:4873/');
    expect(registryToRemember({ npm_config_registry: 'https://npm.example.com/api/npm/' })).toBe(
      'https://npm.example.com/api/npm/',
    );
  });

  it('is this clone packed into vendor/, every file: dependency inside the worker, and create says so', async () => {
    const cwd = await tempDir();
    const result = await execa('node', [CLI, 'cloned', '--no-install', '--no-git', '--user', 'ann'], {
      cwd,
      env: { CI: 'true', npm_config_user_agent: '' },
    });
    const worker = join(cwd, 'cloned');
    const pkg = JSON.parse(await readFile(join(worker, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['create-be-worker']).toBe(`file:${VENDORED}`);
    // A path outside the worker (the clone's) is on no other machine: CI and teammates lack it.
    for (const [name, spec] of Object.entries<string>({ ...pkg.dependencies, ...pkg.devDependencies })) {
      if (!spec.startsWith('file:') && !spec.startsWith('link:')) continue;
      const path = spec.replace(/^(file|link):/, '');
      expect(isAbsolute(path) || relative(worker, join(worker, path)).startsWith('..'), name).toBe(false);
    }
    const packed = await execa('tar', ['-xzOf', join(worker, VENDORED), 'package/package.json']);
    expect(JSON.parse(packed.stdout)).toMatchObject({ name: 'create-be-worker', version: CLI_VERSION });
    const digest = await execa('tar', ['-xzOf', join(worker, VENDORED), 'package/dist/templates.sha256']);
    expect(digest.stdout.trim()).toBe(templatesOf().sha256);
    expect(result.stdout).toContain(`runs from a clone: the worker carries it, packed, in ${VENDORED}`);
  });

  it(
    'installs from a fresh clone of the worker, and each Docker stage installs with only the files it copies',
    async () => {
      const cwd = await tempDir();
      await execa('node', [CLI, 'teamwork', '--user', 'ann'], { cwd, env: { CI: 'true' } });
      // A teammate's clone: only what was committed.
      const clone = join(cwd, 'clone');
      await execa('git', ['clone', '-q', join(cwd, 'teamwork'), clone]);
      const installed = await execa('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: clone,
        reject: false,
        all: true,
      });
      expect(installed.exitCode, installed.all).toBe(0);
      const info = await execa('npm', ['run', '--silent', 'be-worker', '--', 'info'], { cwd: clone, all: true });
      expect(info.stdout).toContain(`created with create-be-worker ${CLI_VERSION}`);
      // Each stage of the Dockerfile: the files it copies before its install, and the install.
      const dockerfile = await readFile(join(clone, 'Dockerfile'), 'utf8');
      const stages = dockerfile.split(/^FROM /m).slice(1);
      expect(stages).toHaveLength(2);
      for (const stage of stages) {
        const beforeInstall = stage.slice(0, stage.search(/^RUN npm ci/m));
        const install = /^RUN (npm ci[^\n&]*)/m.exec(stage)?.[1] ?? '';
        const context = await tempDir('cbw-docker-stage-');
        for (const [, sources] of beforeInstall.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
          for (const source of (sources ?? '').split(' ')) {
            await mkdir(join(context, source, '..'), { recursive: true });
            await cp(join(clone, source), join(context, source), { recursive: true });
          }
        }
        const [command = '', ...args] = install.trim().split(' ');
        const stageInstall = await execa(command, [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
          cwd: context,
          reject: false,
          all: true,
        });
        expect(stageInstall.exitCode, `${install}\n${stageInstall.all}`).toBe(0);
      }
    },
    5 * 60_000,
  );

  it('runs with npm run be-worker, from any folder of the installed worker, as this version and templates', async () => {
    const worker = inject('allOnWorker');
    const installed = await realpath(join(worker, 'node_modules', 'create-be-worker'));
    expect(JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')).version).toBe(CLI_VERSION);
    expect((await readFile(join(installed, 'dist', 'templates.sha256'), 'utf8')).trim()).toBe(templatesOf().sha256);
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
