// A virtual file tree and its atomic application to disk. Files are first written to a temporary
// sibling directory; only when all of them are there do they move into place, by rename. A
// failure or Ctrl-C before that leaves the target as it was.
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Move, moveAll } from './atomic-write.ts';
import { CancelledError, UserError } from './errors.ts';

/** POSIX relative path → file contents. */
export type VirtualTree = Map<string, string>;
/** A tree to write, which may hold binary files too (a vendored package). */
export type FilesTree = ReadonlyMap<string, string | Uint8Array>;

export interface ApplyOptions {
  /** Write into a non-empty directory: files the tree also has are replaced (and kept in a backup). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** Where replaced files were kept, if `force` replaced any. */
  backup?: string;
}

export function describeTree(tree: FilesTree): string {
  const width = Math.max(...[...tree.keys()].map((path) => path.length));
  return [...tree].map(([path, contents]) => `  ${path.padEnd(width)}  ${Buffer.byteLength(contents)} B`).join('\n');
}

/** Refuses a target that is a file, or a non-empty directory without `force`. */
export async function checkTarget(
  target: string,
  { force = false }: Pick<ApplyOptions, 'force'> = {},
): Promise<'missing' | 'empty' | 'non-empty'> {
  const state = await targetState(target);
  if (state === 'file') throw new UserError(`${target} is a file; choose a directory for the worker`);
  if (state === 'non-empty' && !force) {
    throw new UserError(
      `${target} is not empty; choose a new directory, or pass --force to write into it (replaced files are kept in a backup)`,
    );
  }
  return state;
}

export async function applyTree(tree: FilesTree, target: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const destination = resolve(target);
  const state = await checkTarget(destination, options);
  const parent = dirname(destination);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(destination)}.staging-`));
  await chmod(staging, 0o777 & ~process.umask()); // mkdtemp makes it private; the project is not
  try {
    // Folders first, then every file at once: the writes overlap instead of queueing.
    for (const dir of new Set([...tree.keys()].map((path) => dirname(join(staging, path))))) {
      await mkdir(dir, { recursive: true });
    }
    throwIfAborted(options.signal);
    await Promise.all([...tree].map(([path, contents]) => writeFile(join(staging, path), contents)));
    throwIfAborted(options.signal);
    if (state === 'missing') {
      await rename(staging, destination);
      return {};
    }
    return await moveInto(tree, staging, destination);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Moves staged files into an existing directory (moveAll), the files they replace into a backup. */
async function moveInto(tree: FilesTree, staging: string, destination: string): Promise<ApplyResult> {
  const backup = await backupPath(destination);
  const moves: Move[] = [];
  for (const path of tree.keys()) {
    const target = join(destination, path);
    const replaced = (await targetState(target)) !== 'missing';
    moves.push({ target, staged: join(staging, path), aside: replaced ? join(backup, path) : undefined });
  }
  await moveAll(moves);
  return moves.some(({ aside }) => aside) ? { backup } : {};
}

/** `<dir>.backup-2026-11-28-143205` (local time, so a person can tell which run made it); never an existing one. */
async function backupPath(destination: string, now = new Date()): Promise<string> {
  const two = (value: number) => String(value).padStart(2, '0');
  const date = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  const time = `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  const base = `${destination}.backup-${date}-${time}`;
  for (let attempt = 1; ; attempt++) {
    const candidate = attempt === 1 ? base : `${base}-${attempt}`;
    if ((await targetState(candidate)) === 'missing') return candidate;
  }
}

export async function targetState(path: string): Promise<'missing' | 'file' | 'empty' | 'non-empty'> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return 'file';
    return (await readdir(path)).length === 0 ? 'empty' : 'non-empty';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}
