// Cuts a release: `node scripts/release.ts patch|minor|major` on a clean main. Bumps the version in
// package.json and package-lock.json, turns CHANGELOG.md's [Unreleased] into the version's section,
// commits, and tags vX.Y.Z (the CLI's CI publishes the tag).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const BUMPS = ['patch', 'minor', 'major'] as const;
type Bump = (typeof BUMPS)[number];

export function nextVersion(version: string, bump: Bump): string {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  if (bump === 'major') return `${major + 1}.0.0`;
  if (bump === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

/** The CHANGELOG with [Unreleased]'s entries moved under `## [version] - date`, and [Unreleased] left empty. */
export function releaseChangelog(text: string, version: string, date: string): string {
  const start = text.indexOf('\n## [Unreleased]');
  if (start < 0) throw new Error('CHANGELOG.md has no "## [Unreleased]" section');
  const body = text.indexOf('\n', start + 1) + 1;
  const next = text.indexOf('\n## [', body);
  const entries = text.slice(body, next < 0 ? undefined : next + 1);
  if (!/^\s*- /m.test(entries)) throw new Error('CHANGELOG.md: [Unreleased] has no entries to release');
  return `${text.slice(0, body)}\n## [${version}] - ${date}\n${entries}${next < 0 ? '' : text.slice(next + 1)}`;
}

async function main(bump: string | undefined): Promise<void> {
  if (!BUMPS.includes(bump as Bump)) throw new Error(`usage: node scripts/release.ts ${BUMPS.join('|')}`);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (file: string, args: string[]) => execa(file, args, { cwd: root });
  if ((await run('git', ['status', '--porcelain'])).stdout) throw new Error('commit or stash your changes first');
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const version = nextVersion(manifest.version, bump as Bump);
  const changelog = join(root, 'CHANGELOG.md');
  const date = new Date().toISOString().slice(0, 10);
  await writeFile(changelog, releaseChangelog(await readFile(changelog, 'utf8'), version, date));
  await run('npm', ['version', version, '--no-git-tag-version']);
  await run('git', ['commit', '-am', `Release ${version}`]);
  await run('git', ['tag', '-a', `v${version}`, '-m', `create-be-worker ${version}`]);
  console.log(`released ${version}: push main and the tag v${version}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).catch((error: Error) => {
    console.error(error.message);
    process.exitCode = 1;
  });
}
