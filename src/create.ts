// createWorker: Spec → virtual tree → atomic apply → install → git. The whole pipeline of
// `create-be-worker`, usable as a library; it reports progress and throws typed errors.
import { resolve } from 'node:path';
import { CancelledError } from './errors.ts';
import type { GitOutcome } from './post-steps.ts';
import { renderWorker } from './render.ts';
import { type Spec, validateSpec } from './spec.ts';
import { applyTree, checkTarget, type VirtualTree } from './tree.ts';
import { CLI_VERSION } from './version.ts';

export interface Progress {
  start(message: string): void;
  stop(message: string): void;
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
  tree: VirtualTree;
  /** Where `force` kept the files it replaced. */
  backup?: string;
  installed: boolean;
  git: GitOutcome | 'skipped';
}

export async function createWorker(input: Spec, options: CreateOptions): Promise<CreateResult> {
  const spec = validateSpec(input);
  const directory = resolve(options.directory);
  const { progress, signal } = options;
  const tree = await renderWorker(spec);
  const result: CreateResult = { spec, directory, tree, installed: false, git: 'skipped' };
  if (options.dryRun) {
    await checkTarget(directory, options);
    return result;
  }

  progress?.start(`Writing ${tree.size} files`);
  const { backup } = await applyTree(tree, directory, options);
  if (backup) result.backup = backup;
  progress?.stop(`Wrote ${tree.size} files to ${directory}`);

  // Loaded only when used: it brings the process runner (execa).
  const postSteps = () => import('./post-steps.ts');
  if (options.install !== false) {
    const { installDependencies } = await postSteps();
    progress?.start(`Installing dependencies with ${spec.packageManager}`);
    try {
      await installDependencies(directory, spec.packageManager, signal);
    } catch (error) {
      progress?.stop('Install failed');
      if (signal?.aborted) throw new CancelledError(`Cancelled during the install; the project is in ${directory}.`);
      throw error;
    }
    result.installed = true;
    progress?.stop('Dependencies installed');
  }
  if (options.git !== false) {
    const { initialCommit } = await postSteps();
    result.git = await initialCommit(directory, CLI_VERSION);
  }
  return result;
}
