// be-worker upgrade: brings a worker from what its be-worker.json says it was rendered from (the
// version and the templates' sha256) to what this CLI, or --to, renders, file by file three-way
// (src/upgrade/plan.ts), applied all or nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type ChangeSet, readBytesIfExists, readIfExists } from '../changes.ts';
import { vendoredFiles, vendoredPathOf } from '../cli-source.ts';
import { EnvironmentError, UserError } from '../errors.ts';
import { shortDigest, type TemplatesIdentity } from '../identity.ts';
import type { WorkerRepo } from '../repo.ts';
import { compareVersions, workerChanges } from './changelog.ts';
import { type Generator, PACKAGE, recordedVersion, targetVersion } from './packages.ts';
import { type FilesPlan, parse, planFiles, sameRender } from './plan.ts';

export interface UpgradeOptions {
  /** A version or tag from the registry; default: the running CLI's version. */
  to?: string;
  /** The recorded version's package, a tarball or a folder (a built clone too), instead of node_modules or the registry. */
  base?: string;
  signal?: AbortSignal;
  /** Told before a slow step (a fetch from the registry). */
  onStep?: (message: string) => void;
}

/** Where each side's templates came from, and which they are. */
export interface Sources {
  base: string;
  theirs: string;
}

export type UpgradePlan =
  | {
      upToDate: true;
      version: string;
      /**
       * How it knows: the recorded templates are this CLI's; or the worker records none (made
       * before they were recorded) and is at this version; or base and target render the same files.
       */
      because: 'same templates' | 'same version' | 'same render';
      sources?: Sources;
    }
  | (Omit<FilesPlan, 'changes'> & {
      upToDate: false;
      /** The files' changes, and the vendored create-be-worker's (a binary file). */
      changes: ChangeSet;
      from: string;
      to: string;
      /** Where each version's templates came from. */
      sources: Sources;
      /** The CHANGELOG entries about generated workers from `from` (excluded) to `to`. */
      changelog: string;
    });

/**
 * Refuses a worker that is not in git, or has changes not committed, naming them: what `command`
 * (the upgrade, add-integration) changes must stand apart, to be reviewed and undone.
 */
export async function checkCleanTree(root: string, command = 'upgrade'): Promise<void> {
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=all', '--', '.'], {
    cwd: root,
    reject: false,
    stdin: 'ignore',
  });
  if (status.exitCode === undefined && status.code === 'ENOENT') {
    throw new EnvironmentError(`git is not installed; the ${command} merges files with git merge-file`);
  }
  if (status.exitCode !== 0) {
    throw new UserError(
      `${root} is not in a git repository: commit the worker first (git init && git add -A && git commit), so the ${command}'s changes can be reviewed and undone, or pass --allow-dirty`,
    );
  }
  const files = status.stdout.split('\n').filter(Boolean);
  if (files.length > 0) {
    const shown = files.slice(0, 20).map((line) => `  ${line}`);
    if (files.length > 20) shown.push(`  … and ${files.length - 20} more`);
    throw new UserError(
      `the worker has changes not committed; commit or stash them first, so the ${command}'s changes stand apart (or pass --allow-dirty):\n${shown.join('\n')}`,
    );
  }
}

/**
 * Renders what the worker was made from (the base) and what it would be made from now (the target)
 * for its recorded answers, and merges three-way. Versions decide only where they can: a worker
 * whose recorded templates are the target's has nothing to do; at one version with other templates,
 * the base cannot be found by its version and must be given (--base).
 */
export async function planUpgrade(repo: WorkerRepo, options: UpgradeOptions = {}): Promise<UpgradePlan> {
  const { root, answers } = repo;
  const from = answers.cliVersion;
  const recorded = answers.templates;
  const prefix = await mkdtemp(join(tmpdir(), 'be-worker-upgrade-'));
  try {
    const { signal, onStep } = options;
    const theirs = await targetVersion(options.to, { prefix: join(prefix, 'target'), root, signal, onStep });
    const order = compareVersions(theirs.version, from);
    if (order < 0) {
      throw new UserError(
        `this worker is at ${PACKAGE} ${from}, newer than ${theirs.version}; run the upgrade with ${from} or later`,
      );
    }
    if (order === 0 && options.base === undefined) {
      if (recorded === undefined) return { upToDate: true, version: from, because: 'same version' };
      if (recorded.sha256 === theirs.templates.sha256)
        return { upToDate: true, version: from, because: 'same templates' };
      throw new UserError(
        `${answers.answers.name} was made by ${PACKAGE} ${from} from other templates than this be-worker's (${described(recorded)}; this one: ${described(theirs.templates)}), which its version does not find: ${askForBase(recorded)}`,
      );
    }
    const base = await recordedGenerator(repo, { base: options.base, prefix: join(prefix, 'base'), signal, onStep });
    const sources = { base: sourceOf(base), theirs: sourceOf(theirs) };
    const [baseTree, theirsTree, changelog] = await Promise.all([
      base.render(answers.answers),
      theirs.render(answers.answers),
      theirs.changelog(),
    ]);
    if (sameRender(baseTree, theirsTree)) return { upToDate: true, version: from, because: 'same render', sources };
    const files = await planFiles(baseTree, theirsTree, (path) => readIfExists(root, path), {
      labels: { ours: 'yours', base: `${PACKAGE} ${from}`, theirs: `${PACKAGE} ${theirs.version}` },
      version: theirs.version,
    });
    return {
      ...files,
      ...(await withVendoredCli(root, files)),
      upToDate: false,
      from,
      to: theirs.version,
      sources,
      changelog: changelog === undefined ? '' : workerChanges(changelog, from, theirs.version),
    };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}

/**
 * The generator that made the worker: its recorded version (this CLI, node_modules, `base`, or the
 * registry), checked against its recorded templates: other templates would merge against the wrong
 * files.
 */
export async function recordedGenerator(
  { root, answers }: WorkerRepo,
  { base, prefix, signal, onStep }: Pick<UpgradeOptions, 'base' | 'signal' | 'onStep'> & { prefix: string },
): Promise<Generator> {
  const from = answers.cliVersion;
  const recorded = answers.templates;
  const generator = await recordedVersion(root, from, { base, prefix, root, signal, onStep });
  if (recorded !== undefined && generator.templates.sha256 !== recorded.sha256) {
    throw new UserError(
      `${generator.source} (${PACKAGE} ${from}, ${described(generator.templates)}) is not what this worker was made from (${described(recorded)}): ${askForBase(recorded)}`,
    );
  }
  return generator;
}

/**
 * A create-be-worker vendored in the worker (made by a clone: src/cli-source.ts) follows its pin:
 * a pin to this clone packs it in, a pin that no longer names the old tarball takes it out.
 */
async function withVendoredCli(
  root: string,
  files: FilesPlan,
): Promise<{ changes: ChangeSet; actions: FilesPlan['actions'] }> {
  const changes: ChangeSet = new Map(files.changes);
  const actions = new Map(files.actions);
  const pin = (text: string | undefined) =>
    text === undefined ? undefined : parse(text, 'package.json').devDependencies?.[PACKAGE];
  const ours = await readIfExists(root, 'package.json');
  const was = vendoredPathOf(pin(ours));
  const now = vendoredPathOf(pin(files.changes.get('package.json')?.after ?? ours));
  if (was !== undefined && was !== now) {
    const before = await readBytesIfExists(root, was);
    if (before !== undefined) {
      changes.set(was, { before, after: undefined });
      actions.set(was, 'removed');
    }
  }
  for (const [path, after] of now === undefined ? [] : await vendoredFiles()) {
    const before = await readBytesIfExists(root, path);
    if (before !== undefined && Buffer.from(before).equals(after)) continue;
    changes.set(path, { before, after });
    actions.set(path, before === undefined ? 'added' : 'replaced');
  }
  return { changes, actions };
}

/** A generator's source and its templates, as the output names them. */
function sourceOf(generator: Generator): string {
  return `${generator.source} (${described(generator.templates)})`;
}

/** The end of a sentence that asks for the base a worker was made from. */
function askForBase({ commit }: TemplatesIdentity): string {
  return `pass --base <the package folder, tarball or built clone${commit ? ` at commit ${commit.slice(0, 12)}` : ''} that made it>`;
}

function described({ sha256, commit }: TemplatesIdentity): string {
  return `templates ${shortDigest(sha256)}${commit ? `, commit ${commit.slice(0, 12)}` : ''}`;
}
