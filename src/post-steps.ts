// After the files are written: install dependencies, then one initial git commit.
import { execa } from 'execa';
import { EnvironmentError } from './errors.ts';
import { commandsFor, type PackageManager } from './package-manager.ts';

/** Installs with the chosen package manager; a failure says exactly what to run again. */
export async function installDependencies(
  directory: string,
  packageManager: PackageManager,
  signal?: AbortSignal,
): Promise<void> {
  const [command = 'npm', ...args] = commandsFor(packageManager).install;
  const result = await execa(command, args, {
    cwd: directory,
    reject: false,
    all: true,
    stdin: 'ignore',
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.failed) {
    const output = (result.all ?? '').trim().split('\n').slice(-15).join('\n');
    throw new EnvironmentError(
      `${[command, ...args].join(' ')} failed${result.exitCode === undefined ? `: ${result.shortMessage}` : ` with exit code ${result.exitCode}`}.\n${output}\n\nThe project is in place. Fix the cause, then run:\n  cd ${directory} && ${[command, ...args].join(' ')}`,
    );
  }
}

export type GitOutcome = 'committed' | 'inside-repository' | 'no-git';

/** `git init` and one commit of everything, lockfile included. Skipped inside an existing repository. */
export async function initialCommit(directory: string, cliVersion: string): Promise<GitOutcome> {
  const git = (...args: string[]) => execa('git', args, { cwd: directory, stdin: 'ignore' });
  try {
    await execa('git', ['--version']);
  } catch {
    return 'no-git';
  }
  const inside = await execa('git', ['rev-parse', '--is-inside-work-tree'], {
    cwd: directory,
    reject: false,
    stdin: 'ignore',
  });
  if (inside.exitCode === 0) return 'inside-repository';

  await git('init', '--quiet', '--initial-branch=main');
  await git('add', '--all');
  // Someone without a git identity (a fresh CI box) still gets the commit, authored by the tool.
  const identity = await execa('git', ['config', 'user.email'], { cwd: directory, reject: false, stdin: 'ignore' });
  const author =
    identity.exitCode === 0 ? [] : ['-c', 'user.name=create-be-worker', '-c', 'user.email=create-be-worker@localhost'];
  try {
    await execa(
      'git',
      [...author, 'commit', '--quiet', '--no-verify', '-m', `Initial commit from create-be-worker ${cliVersion}`],
      {
        cwd: directory,
        stdin: 'ignore',
      },
    );
  } catch (error) {
    throw new EnvironmentError(
      `git commit failed: ${(error as Error).message}\nThe project and its git repository are in place; commit by hand.`,
    );
  }
  return 'committed';
}
