// Real versions of this package for the upgrade tests, each made by `npm pack`: A is this
// repository as it is; B is a copy with its version bumped and a change to a runtime file, the
// Dockerfile, the README, a dependency's range, one new file, a new file of the ratelimit
// integration, a file removed, and a CHANGELOG release; C is an
// older build of A's version (as a clone between two releases makes): A's version number, other
// templates (C_CHANGES). A CLI can also be built from this repository's history (buildFromHistory).
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
  /** A file B adds to one integration: only workers with ratelimit get it. */
  integration: 'ratelimit',
  newIntegrationFile: 'src/integrations/ratelimit-release.ts',
  /** A file of A that B no longer renders (its template removed). */
  removedFile: 'examples/client/send_from_python.py',
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

/** Installs a version's CLI into `dir`/cli-<name>; returns the path of one of its commands. */
export async function installCli(dir: string, name: string, version: Version): Promise<(command: string) => string> {
  const prefix = join(dir, `cli-${name}`);
  await execa('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', version.tarball]);
  return (command) => join(prefix, 'node_modules', '.bin', command);
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
  await writeFile(
    join(source, 'templates/integrations', B_CHANGES.integration, 'files', B_CHANGES.newIntegrationFile),
    "// Which template release made this integration.\nexport const RATELIMIT_RELEASE = 'b';\n",
  );
  await rm(join(source, worker, `${B_CHANGES.removedFile}.hbs`));
  await edit(
    source,
    'CHANGELOG.md',
    '## [Unreleased]',
    `## [${versionB}] - 2026-12-03\n\n### Generated workers\n${B_CHANGES.workerEntry}\n\n### Changed\n${B_CHANGES.cliEntry}\n\n## [Unreleased]`,
  );
  return pack(source, dir, false);
}

/** This repository's CLI at one commit of its history, built as a clone of it is. */
export interface HistoricBuild {
  /** What was asked for (a short commit, a tag). */
  ref: string;
  commit: string;
  version: string;
  /** The built tree: bin/, dist/, templates/, its own node_modules. */
  root: string;
}

/**
 * Builds the CLI at `ref` from this repository's history into `dir`/cli-<ref>: the tree at that
 * commit (git archive), its own `npm ci` from the npm registry and its `npm run build`.
 * A ref missing from the clone fails saying so: CI clones with full history.
 */
export async function buildFromHistory(ref: string, dir: string): Promise<HistoricBuild> {
  const found = await execa('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
    cwd: REPO,
    reject: false,
  });
  if (found.exitCode !== 0) {
    throw new Error(
      `${ref} is not in the clone at ${REPO}: the upgrade-from-history tests build the CLI from it; clone with full history (git fetch --unshallow)`,
    );
  }
  const commit = found.stdout.trim();
  const root = join(dir, `cli-${ref}`);
  await mkdir(root);
  await execa('bash', ['-o', 'pipefail', '-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', '-', REPO, commit, root]);
  await execa('npm', ['ci', '--no-fund', '--no-audit'], { cwd: root, stdin: 'ignore' });
  await execa('npm', ['run', 'build'], { cwd: root, stdin: 'ignore' });
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  return { ref, commit, version, root };
}

/**
 * The newest release before this commit, the release a team upgrades from: the last commit
 * scripts/release.ts made ("Release X.Y.Z"). Found by its message, since a clone may carry no tags.
 */
export async function previousRelease(): Promise<string> {
  const found = await execa(
    'git',
    ['log', '-1', '--format=%H', '-E', '--grep', '^Release [0-9]+\\.[0-9]+\\.[0-9]+$', 'HEAD^'],
    {
      cwd: REPO,
      reject: false,
    },
  );
  const commit = found.stdout.trim();
  if (found.exitCode !== 0 || !commit) {
    throw new Error(
      `no release commit ("Release X.Y.Z") before HEAD in the clone at ${REPO}${found.stderr ? ` (${found.stderr.trim()})` : ''}: clone with full history (git fetch --unshallow)`,
    );
  }
  return commit;
}
