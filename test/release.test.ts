// A change to what generated workers get must be released, or no upgrade would deliver it: the
// check that enforces it, on a repository made here and on this one.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { nextVersion, releaseChangelog } from '../scripts/release.ts';
import { releaseProblem, releaseState } from '../scripts/release-check.ts';
import { REPO, tempDir } from './support/process.ts';

const CHANGELOG =
  '# Changelog\n\n## [Unreleased]\n\n### Generated workers\n- a fix\n\n## [1.0.0] - 2026-01-01\n- first\n';

async function repoAt(version: string): Promise<{ dir: string; commit(files: Record<string, string>): Promise<void> }> {
  const dir = await tempDir('cbw-release-');
  const git = (...args: string[]) => execa('git', args, { cwd: dir });
  await git('init', '-q');
  await git('config', 'user.email', 'test@example.com');
  await git('config', 'user.name', 'test');
  const commit = async (files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    await git('add', '-A');
    await git('commit', '-qm', 'change');
  };
  await commit({
    'package.json': JSON.stringify({ name: 'x', version }),
    'CHANGELOG.md': CHANGELOG,
    'templates/worker/src/runtime/lease.ts': 'a\n',
  });
  return { dir, commit };
}

describe('the release check', () => {
  it('fails on a commit that changes templates/ without a version bump, and passes once bumped', async () => {
    const repo = await repoAt('1.0.0');
    expect(releaseProblem(await releaseState(repo.dir))).toBeUndefined();

    await repo.commit({ 'templates/worker/src/runtime/lease.ts': 'b\n', 'src/other.ts': 'x\n' });
    const state = await releaseState(repo.dir);
    expect(state.changedSince).toEqual(['templates/worker/src/runtime/lease.ts']);
    expect(releaseProblem(state)).toMatch(/templates\/ changed since version 1\.0\.0 .*lease\.ts.*release/);

    // A change to package.json that is not a bump (a dependency) does not count as a release.
    await repo.commit({ 'package.json': JSON.stringify({ name: 'x', version: '1.0.0', dependencies: { a: '1' } }) });
    expect(releaseProblem(await releaseState(repo.dir))).toMatch(/templates\/ changed/);

    await repo.commit({
      'package.json': JSON.stringify({ name: 'x', version: '1.0.1' }),
      'CHANGELOG.md': releaseChangelog(CHANGELOG, '1.0.1', '2026-02-02'),
    });
    expect(releaseProblem(await releaseState(repo.dir))).toBeUndefined();
  });

  it('fails on a version with no CHANGELOG section', async () => {
    const repo = await repoAt('1.0.0');
    await repo.commit({ 'package.json': JSON.stringify({ name: 'x', version: '1.1.0' }) });
    expect(releaseProblem(await releaseState(repo.dir))).toMatch(/no section for version 1\.1\.0/);
  });

  it('holds for this repository: its templates are those of the version it declares', async () => {
    expect(releaseProblem(await releaseState(REPO))).toBeUndefined();
  });
});

describe('cutting a release', () => {
  it('bumps by semver', () => {
    expect(nextVersion('0.1.9', 'patch')).toBe('0.1.10');
    expect(nextVersion('0.1.9', 'minor')).toBe('0.2.0');
    expect(nextVersion('0.1.9', 'major')).toBe('1.0.0');
  });

  it("moves [Unreleased]'s entries into the version's section and leaves [Unreleased] empty", () => {
    const text = releaseChangelog(CHANGELOG, '1.1.0', '2026-12-06');
    expect(text).toContain(
      '## [Unreleased]\n\n## [1.1.0] - 2026-12-06\n\n### Generated workers\n- a fix\n\n## [1.0.0]',
    );
    expect(() => releaseChangelog(text, '1.2.0', '2026-12-07')).toThrow(/no entries/);
  });
});
