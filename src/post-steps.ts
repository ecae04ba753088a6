// After the files are written: install dependencies, then one initial git commit. Ctrl-C (the
// signal aborted, or the child killed by the terminal's SIGINT) is a CancelledError; the caller
// says what was kept.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type Options } from 'execa';
import { CancelledError, EnvironmentError } from './errors.ts';
import { commandsFor, type PackageManager } from './package-manager.ts';

/** Runs a command to its end; a cancel or Ctrl-C throws CancelledError, a failure is in the result. */
async function run(command: string, args: readonly string[], options: Options & { signal?: AbortSignal }) {
  const { signal, ...rest } = options;
  const result = await execa(command, args, {
    stdin: 'ignore',
    ...rest,
    reject: false,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.isCanceled || result.signal === 'SIGINT' || signal?.aborted) throw new CancelledError();
  return result;
}

/** Installs with the chosen package manager; a failure says exactly what to run again. */
export async function installDependencies(
  directory: string,
  packageManager: PackageManager,
  signal?: AbortSignal,
): Promise<void> {
  const [command = 'npm', ...args] = commandsFor(packageManager).install;
  const result = await run(command, args, { cwd: directory, all: true, signal });
  if (result.failed) {
    const output = String(result.all ?? '')
      .trim()
      .split('\n')
      .slice(-15)
      .join('\n');
    throw new EnvironmentError(
      `${[command, ...args].join(' ')} failed${result.exitCode === undefined ? `: ${result.shortMessage}` : ` with exit code ${result.exitCode}`}.\n${output}\n\nThe project is in place. Fix the cause, then run:\n  cd ${directory} && ${[command, ...args].join(' ')}`,
    );
  }
}

export type GitOutcome = 'committed' | 'inside-repository' | 'no-git';

/**
 * `git init` and one commit of everything, lockfile included. Skipped inside an existing
 * repository. Cancelled half-way, the repository it began is removed: none is better than a
 * broken one.
 */
export async function initialCommit(directory: string, cliVersion: string, signal?: AbortSignal): Promise<GitOutcome> {
  const options = { cwd: directory, signal };
  if ((await run('git', ['--version'], options)).failed) return 'no-git';
  if ((await run('git', ['rev-parse', '--is-inside-work-tree'], options)).exitCode === 0) return 'inside-repository';

  const git = async (...args: string[]) => {
    const result = await run('git', args, options);
    if (result.failed) {
      throw new EnvironmentError(
        `git ${args.find((arg) => !arg.startsWith('-') && !arg.includes('='))} failed: ${String(result.stderr || result.shortMessage).trim()}\nThe project is in place; make the first commit by hand.`,
      );
    }
    return result;
  };
  try {
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '--all');
    // Someone without a git identity (a fresh CI box) still gets the commit, authored by the tool.
    const identity = await run('git', ['config', 'user.email'], options);
    const author =
      identity.exitCode === 0
        ? []
        : ['-c', 'user.name=create-be-worker', '-c', 'user.email=create-be-worker@localhost'];
    await git(...author, 'commit', '--quiet', '--no-verify', '-m', initialCommitMessage(cliVersion));
  } catch (error) {
    if (error instanceof CancelledError) await rm(join(directory, '.git'), { recursive: true, force: true });
    throw error;
  }
  return 'committed';
}

export function initialCommitMessage(cliVersion: string): string {
  return `Initial commit from create-be-worker ${cliVersion}`;
}
