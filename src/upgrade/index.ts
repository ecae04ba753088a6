// be-worker upgrade: brings a worker from the version in its be-worker.json to a later one, file by
// file three-way (src/upgrade/plan.ts), applied all or nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { readIfExists } from '../changes.ts';
import { EnvironmentError, UserError } from '../errors.ts';
import type { WorkerRepo } from '../repo.ts';
import { compareVersions, workerChanges } from './changelog.ts';
import { PACKAGE, recordedVersion, targetVersion } from './packages.ts';
import { type FilesPlan, planFiles } from './plan.ts';

export interface UpgradeOptions {
  /** A version or tag from the registry; default: the running CLI's version. */
  to?: string;
  /** The recorded version's package, a tarball or a folder, instead of node_modules or the registry. */
  base?: string;
  signal?: AbortSignal;
  /** Told before a slow step (a fetch from the registry). */
  onStep?: (message: string) => void;
}

export type UpgradePlan =
  | { upToDate: true; version: string }
  | (FilesPlan & {
      upToDate: false;
      from: string;
      to: string;
      /** Where each version's templates came from. */
      sources: { base: string; theirs: string };
      /** The CHANGELOG entries about generated workers from `from` (excluded) to `to`. */
      changelog: string;
    });

/** Refuses a worker that is not in git, or has changes not committed, naming them. */
export async function checkCleanTree(root: string): Promise<void> {
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=all', '--', '.'], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
  });
  if (status.exitCode === undefined && status.code === 'ENOENT') {
    throw new EnvironmentError('git is not installed; the upgrade merges files with git merge-file');
  }
  if (status.exitCode !== 0) {
    throw new UserError(
      `${root} is not in a git repository: commit the worker first (git init && git add -A && git commit), so the upgrade's changes can be reviewed and undone, or pass --allow-dirty`,
    );
  }
  const files = status.stdout.split('\n').filter(Boolean);
  if (files.length > 0) {
    const shown = files.slice(0, 20).map((line) => `  ${line}`);
    if (files.length > 20) shown.push(`  … and ${files.length - 20} more`);
    throw new UserError(
      `the worker has changes not committed; commit or stash them first, so the upgrade's changes stand apart (or pass --allow-dirty):\n${shown.join('\n')}`,
    );
  }
}

export async function planUpgrade(repo: WorkerRepo, options: UpgradeOptions = {}): Promise<UpgradePlan> {
  const { root, answers } = repo;
  const from = answers.cliVersion;
  const prefix = await mkdtemp(join(tmpdir(), 'be-worker-upgrade-'));
  try {
    const { signal, onStep } = options;
    const theirs = await targetVersion(options.to, { prefix: join(prefix, 'target'), signal, onStep });
    const order = compareVersions(theirs.version, from);
    if (order === 0) return { upToDate: true, version: from };
    if (order < 0) {
      throw new UserError(
        `this worker is at ${PACKAGE} ${from}, newer than ${theirs.version}; run the upgrade with ${from} or later`,
      );
    }
    const base = await recordedVersion(root, from, {
      base: options.base,
      prefix: join(prefix, 'base'),
      signal,
      onStep,
    });
    const [baseTree, theirsTree, changelog] = await Promise.all([
      base.render(answers.answers),
      theirs.render(answers.answers),
      theirs.changelog(),
    ]);
    const files = await planFiles(baseTree, theirsTree, (path) => readIfExists(root, path), {
      labels: { ours: 'yours', base: `${PACKAGE} ${from}`, theirs: `${PACKAGE} ${theirs.version}` },
      version: theirs.version,
    });
    return {
      ...files,
      upToDate: false,
      from,
      to: theirs.version,
      sources: { base: base.source, theirs: theirs.source },
      changelog: changelog === undefined ? '' : workerChanges(changelog, from, theirs.version),
    };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}
