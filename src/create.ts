// createWorker: Spec → virtual tree → atomic apply → install → git. The whole pipeline of
// `create-be-worker`, usable as a library; it reports progress and throws typed errors.
import { resolve } from 'node:path';
import { vendoredFiles } from './cli-source.ts';
import { CancelledError } from './errors.ts';
import { commandsFor, requirePackageManager } from './package-manager.ts';
import type { GitOutcome } from './post-steps.ts';
import { renderWorker } from './render.ts';
import { type Spec, validateSpec } from './spec.ts';
import { applyTree, checkTarget, type FilesTree } from './tree.ts';
import { CLI_VERSION } from './version.ts';

export interface Progress {
  start(message: string): void;
  stop(message: string): void;
  /** The step failed or was cancelled: never shown as a success. */
  fail(message: string): void;
}

export interface CreateOptions {
  directory: string;
  /** Write into a non-empty directory. */
  force?: boolean;
  /** Render and check only; write nothing, run nothing. */
  dryRun?: boolean;
  install?: boolean;
  git?: boolean;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface CreateResult {
  spec: Spec;
  directory: string;
  /** The rendered files, and the vendored CLI of a worker made by a clone. */
  tree: FilesTree;
  /** Where `force` kept the files it replaced. */
  backup?: string;
  installed: boolean;
  git: GitOutcome | 'skipped';
}

export async function createWorker(input: Spec, options: CreateOptions): Promise<CreateResult> {
  const spec = validateSpec(input);
  const directory = resolve(options.directory);
  const { progress, signal } = options;
  const tree: FilesTree = new Map<string, string | Uint8Array>([
    ...(await renderWorker(spec)),
    ...(await vendoredFiles(signal)),
  ]);
  const result: CreateResult = { spec, directory, tree, installed: false, git: 'skipped' };
  if (options.dryRun) {
    await checkTarget(directory, options);
    return result;
  }
  // Everything that can be refused is refused before the first file is written.
  if (options.install !== false) await requirePackageManager(spec.packageManager);

  const { backup } = await step(progress, `Writing ${tree.size} files`, 'Writing', () =>
    applyTree(tree, directory, options),
  );
  if (backup) result.backup = backup;
  progress?.stop(`Wrote ${tree.size} files to ${directory}`);

  // Loaded only when used: it brings the process runner (execa).
  const postSteps = () => import('./post-steps.ts');
  const left = { install: options.install !== false, git: options.git !== false };
  const cancelled = async (during: string, kept: string) => {
    const { initialCommitMessage } = await postSteps();
    const finish = [
      ...(left.install ? [commandsFor(spec.packageManager).install.join(' ')] : []),
      ...(left.git ? [`git init && git add --all && git commit -m "${initialCommitMessage(CLI_VERSION)}"`] : []),
    ];
    return new CancelledError(
      `Cancelled during ${during}. Kept: the project in ${directory}, ${kept}. To finish: cd ${directory} && ${finish.join(' && ')}`,
    );
  };

  if (left.install) {
    const { installDependencies } = await postSteps();
    await step(progress, `Installing dependencies with ${spec.packageManager}`, 'Install', () =>
      installDependencies(directory, spec.packageManager, signal),
    ).catch(async (error) => {
      throw error instanceof CancelledError ? await cancelled('the install', 'without its dependencies') : error;
    });
    result.installed = true;
    left.install = false;
    progress?.stop('Dependencies installed');
  }
  if (left.git) {
    const { initialCommit } = await postSteps();
    const outcome = await step(progress, 'Making the first git commit', 'git', () =>
      initialCommit(directory, CLI_VERSION, signal),
    ).catch(async (error) => {
      throw error instanceof CancelledError
        ? await cancelled('the first git commit', `${result.installed ? 'installed, ' : ''}without a git repository`)
        : error;
    });
    result.git = outcome;
    if (outcome === 'committed') progress?.stop('Made the first git commit');
    if (outcome === 'inside-repository') progress?.stop('Inside an existing git repository: no new one made');
    // A step not done is not shown as done.
    if (outcome === 'no-git') progress?.fail('git is not installed: no repository made');
  }
  return result;
}

/** Runs one step under a started progress line; a failure or cancel marks it failed, never done. */
async function step<T>(
  progress: Progress | undefined,
  doing: string,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  progress?.start(doing);
  try {
    return await work();
  } catch (error) {
    progress?.fail(`${name} ${error instanceof CancelledError ? 'cancelled' : 'failed'}`);
    throw error;
  }
}
