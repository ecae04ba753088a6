// Real versions of this package for the upgrade tests, each made by `npm pack`: A is this
// repository as it is; B is a copy with its version bumped and a change to a runtime file, the
// Dockerfile, the README, a dependency's range and one new file, and a CHANGELOG release; C is an
// older build of A's version (as a clone between two releases makes): A's version number, other
// templates (C_CHANGES).
import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './process.ts';

export interface Version {
  version: string;
  tarball: string;
}

/** What B changes, so tests can look for it (each edit away from the others). */
export const B_CHANGES = {
  runtimeFile: 'src/runtime/retry.ts',
  runtimeLine: '/** No retry comes sooner than this: a task that fails at once must not become a hot loop. */',
  runtimeLineB: '/** No retry comes sooner than this (one second): a failing task must not become a hot loop. */',
  dockerfileLine: '# Build stage: all dependencies, compile TypeScript to dist/.',
  dockerfileLineB: '# Build stage: every dependency, TypeScript compiled to dist/.',
  readmeAdded: 'Run the tests before every push.',
  newFile: 'src/runtime/release.ts',
  workerEntry: '- B: a marker entry for generated workers.',
  cliEntry: '- B: a marker entry for the CLI only.',
};

/** What C, the older build at A's version, has otherwise than A. */
export const C_CHANGES = {
  dockerfileLine: '# Final stage: production dependencies and compiled JavaScript only, as a non-root user.',
  dockerfileLineC: '# Final stage: what production needs, as a non-root user.',
  /** A file A has and C had not yet: an upgrade adds it. */
  missingFile: 'scripts/check-node.cjs',
};

async function pack(dir: string, destination: string, ignoreScripts: boolean): Promise<Version> {
  const args = ['pack', '--silent', '--pack-destination', destination, ...(ignoreScripts ? ['--ignore-scripts'] : [])];
  const packed = await execa('npm', args, { cwd: dir });
  const tarball = join(destination, packed.stdout.trim().split('\n').at(-1) ?? '');
  const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { version, tarball };
}

/** Replaces `from` (which must be there) by `to` in a file of `dir`. */
async function edit(dir: string, path: string, from: string, to: string): Promise<void> {
  const text = await readFile(join(dir, path), 'utf8');
  if (!text.includes(from))
    throw new Error(`version B: "${from}" is no longer in ${path}; update test/support/versions.ts`);
  await writeFile(join(dir, path), text.replace(from, to));
}

/** A copy of this repository to change, with its dependencies, in `dir`/`name`. */
async function copyOfRepo(dir: string, name: string): Promise<string> {
  const source = join(dir, name);
  const skip = new Set(['node_modules', 'dist', '.git']);
  await cp(REPO, source, { recursive: true, filter: (path) => path === REPO || !skip.has(basename(path)) });
  await symlink(join(REPO, 'node_modules'), join(source, 'node_modules'));
  return source;
}

/** Packs A (the global set-up has built dist/), and builds and packs B and C, into `dir` (C into `dir`/c: A's name). */
export async function makeVersions(dir: string): Promise<{ a: Version; b: Version; c: Version }> {
  const a = await pack(REPO, dir, true);
  const b = await makeB(dir, a);
  const c = await makeC(dir);
  return { a, b, c };
}

async function makeC(dir: string): Promise<Version> {
  const source = await copyOfRepo(dir, 'c-source');
  const worker = 'templates/worker';
  await edit(source, `${worker}/Dockerfile.hbs`, C_CHANGES.dockerfileLine, C_CHANGES.dockerfileLineC);
  await rm(join(source, worker, C_CHANGES.missingFile));
  await mkdir(join(dir, 'c'));
  return pack(source, join(dir, 'c'), false);
}

async function makeB(dir: string, a: Version): Promise<Version> {
  const source = await copyOfRepo(dir, 'b-source');
  const [major, minor, patch] = a.version.split('-')[0]?.split('.').map(Number) ?? [];
  const versionB = `${major}.${minor}.${(patch ?? 0) + 1}`;
  const manifest = JSON.parse(await readFile(join(source, 'package.json'), 'utf8'));
  await writeFile(join(source, 'package.json'), `${JSON.stringify({ ...manifest, version: versionB }, null, 2)}\n`);
  const worker = 'templates/worker';
  await edit(source, `${worker}/${B_CHANGES.runtimeFile}`, B_CHANGES.runtimeLine, B_CHANGES.runtimeLineB);
  await edit(source, `${worker}/Dockerfile.hbs`, B_CHANGES.dockerfileLine, B_CHANGES.dockerfileLineB);
  await edit(source, `${worker}/README.md.hbs`, '## Test\n', `## Test\n\n${B_CHANGES.readmeAdded}\n`);
  // pino's range written another way: B changes a dependency, and the install needs no download.
  const pino = (await readFile(join(source, worker, 'package.json.hbs'), 'utf8')).match(
    /"pino": "\^(\d+)\.(\d+)\.(\d+)"/,
  );
  if (!pino) throw new Error('version B: no "pino": "^x.y.z" in package.json.hbs');
  await edit(
    source,
    `${worker}/package.json.hbs`,
    pino[0],
    `"pino": ">=${pino[1]}.${pino[2]}.${pino[3]} <${Number(pino[1]) + 1}.0.0"`,
  );
  await writeFile(
    join(source, worker, B_CHANGES.newFile),
    "// Which template release made this worker.\nexport const TEMPLATE_RELEASE = 'b';\n",
  );
  await edit(
    source,
    'CHANGELOG.md',
    '## [Unreleased]',
    `## [${versionB}] - 2026-12-03\n\n### Generated workers\n${B_CHANGES.workerEntry}\n\n### Changed\n${B_CHANGES.cliEntry}\n\n## [Unreleased]`,
  );
  return pack(source, dir, false);
}
