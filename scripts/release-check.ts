// Every change to what a generated worker gets must be released: a worker learns of a fix only
// through `be-worker upgrade`, which goes by version. This finds the commit that last changed the
// version in package.json and tells whether templates/ changed after it, and whether the version
// has its CHANGELOG section.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ReleaseState {
  version: string;
  /** The commit that set `version` in package.json. */
  releasedAt: string;
  /** Files under templates/ changed since then, committed or not. */
  changedSince: string[];
  /** CHANGELOG.md has a `## [version]` section. */
  inChangelog: boolean;
}

const git = async (dir: string, args: string[]) => (await execa('git', args, { cwd: dir })).stdout;

async function versionAt(dir: string, commit: string): Promise<string | undefined> {
  const text = await git(dir, ['show', `${commit}:package.json`]).catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { version?: string }).version;
}

export async function releaseState(dir: string): Promise<ReleaseState> {
  const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string };
  const commits = (await git(dir, ['log', '--format=%H', '--', 'package.json'])).split('\n').filter(Boolean);
  let releasedAt = commits.at(-1) ?? 'HEAD';
  for (const commit of commits) {
    if ((await versionAt(dir, commit)) !== (await versionAt(dir, `${commit}^`))) {
      releasedAt = commit;
      break;
    }
  }
  const changedSince = (await git(dir, ['diff', '--name-only', releasedAt, '--', 'templates']))
    .split('\n')
    .filter(Boolean);
  const changelog = await readFile(join(dir, 'CHANGELOG.md'), 'utf8').catch(() => '');
  const inChangelog = changelog.includes(`\n## [${version}]`);
  return { version, releasedAt, changedSince, inChangelog };
}

/** What is wrong with the release state, in one sentence with the fix; undefined if nothing. */
export function releaseProblem(state: ReleaseState): string | undefined {
  if (state.changedSince.length > 0) {
    const files = state.changedSince.slice(0, 3).join(', ') + (state.changedSince.length > 3 ? ', …' : '');
    return `templates/ changed since version ${state.version} was set (${files}), so no upgrade would deliver the change: cut a release with \`node scripts/release.ts patch\` (or minor)`;
  }
  if (!state.inChangelog) {
    return `CHANGELOG.md has no section for version ${state.version}: cut the release with \`node scripts/release.ts\``;
  }
  return undefined;
}
