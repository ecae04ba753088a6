// What a worker was rendered from, recorded in its be-worker.json beside the version: the sha256 of
// the templates/ folder the CLI renders from and, run from a clone, the commit checked out. The
// version alone says too little: a clone, or any build between two releases, renders differently
// at one version, and `be-worker upgrade` must know which templates to merge from.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { CLI_ROOT, runsFromClone } from './version.ts';

export interface TemplatesIdentity {
  /** Over every file under templates/: its path and its bytes. */
  sha256: string;
  /** The commit of the clone it ran from, when it ran from one. */
  commit?: string;
}

/** Written into dist/ by `npm run build` (scripts/precompile-templates.ts): a package's templates do not change. */
export const DIGEST_FILE = 'templates.sha256';

/** The sha256 of a templates folder: each file's path (with /) and bytes, in path order. */
export function templatesDigest(dir: string): string {
  const paths = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
  const hash = createHash('sha256');
  for (const path of paths)
    hash
      .update(`${path}\0`)
      .update(readFileSync(join(dir, path)))
      .update('\0');
  return hash.digest('hex');
}

/**
 * The templates of the CLI at `root`: an installed package's digest from its build; a clone's
 * computed now (its templates may have changed since its build, and render as they are), with its commit.
 */
export function templatesOf(root: string = CLI_ROOT): TemplatesIdentity {
  if (!runsFromClone(root)) {
    const built = readOptional(join(root, 'dist', DIGEST_FILE))?.trim();
    if (built) return { sha256: built };
  }
  const commit = runsFromClone(root) ? gitCommit(root) : undefined;
  return { sha256: templatesDigest(join(root, 'templates')), ...(commit ? { commit } : {}) };
}

/** The short form said to users. */
export function shortDigest(sha256: string): string {
  return `sha256 ${sha256.slice(0, 12)}`;
}

/**
 * The commit checked out in `root`, read from .git without running git (a few small files); a
 * worktree's .git is a file naming its git folder, whose refs are in the common one.
 */
function gitCommit(root: string): string | undefined {
  const dotGit = join(root, '.git');
  const isFile = statSync(dotGit, { throwIfNoEntry: false })?.isFile();
  if (isFile === undefined) return undefined;
  const gitDir = isFile ? resolve(root, /^gitdir: (.+)$/m.exec(readOptional(dotGit) ?? '')?.[1]?.trim() ?? '') : dotGit;
  const head = readOptional(join(gitDir, 'HEAD'))?.trim() ?? '';
  if (isCommit(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const commonDir = readOptional(join(gitDir, 'commondir'))?.trim();
  const common = commonDir ? resolve(gitDir, commonDir) : gitDir;
  for (const dir of [gitDir, common]) {
    const commit = readOptional(join(dir, ref))?.trim();
    if (commit && isCommit(commit)) return commit;
  }
  // Refs git has packed: "<commit> <ref>" lines.
  const packed = readOptional(join(common, 'packed-refs')) ?? '';
  const line = packed.split('\n').find((each) => each.endsWith(` ${ref}`));
  const commit = line?.split(' ')[0];
  return commit && isCommit(commit) ? commit : undefined;
}

function isCommit(text: string): boolean {
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
