// A generated worker as the upgrade tests look at it: the files the team owns, a commit, and its
// own checks (test/e2e/upgrade.test.ts, test/e2e/upgrade-from-history.test.ts).
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';

/** Every file the project owns, path → contents: not installed, built or locked ones. */
export async function snapshot(root: string): Promise<Map<string, string>> {
  const skip = ['node_modules/', 'dist/', '.git/', 'package-lock.json'];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const paths = entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .filter((path) => !skip.some((prefix) => path === prefix || path.startsWith(prefix)))
    .sort();
  return new Map(
    await Promise.all(paths.map(async (path) => [path, await readFile(join(root, path), 'utf8')] as const)),
  );
}

/** Commits everything, as the team would (no git identity needed on the machine). */
export async function commit(worker: string, message: string): Promise<void> {
  await execa('git', ['add', '-A'], { cwd: worker });
  await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', message], { cwd: worker });
}

/** `git status --porcelain`: empty when the tree is as committed. */
export async function uncommitted(worker: string): Promise<string> {
  return (await execa('git', ['status', '--porcelain'], { cwd: worker })).stdout;
}

/** The worker's own typecheck, lint, tests and build pass. */
export async function expectChecksPass(worker: string, env: Record<string, string> = {}): Promise<void> {
  for (const script of ['typecheck', 'lint', 'test', 'build']) {
    const result = await execa('npm', ['run', script], { cwd: worker, env, reject: false, all: true, stdin: 'ignore' });
    expect(result.exitCode, `npm run ${script}:\n${result.all}`).toBe(0);
  }
}
