// A change set to an existing repository: files to create, rewrite or delete, shown as a diff,
// applied all or nothing (each new file goes to a temporary sibling first; the renames come last,
// by atomic-write.ts, and are undone if one fails).
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { moveAll } from './atomic-write.ts';
import { CancelledError } from './errors.ts';

/** Text, or the bytes of a binary file (a vendored package). */
export type Contents = string | Uint8Array;

/** Path → new contents (undefined: delete it), with what was there before (undefined: a new file). */
export type ChangeSet<C extends Contents = Contents> = Map<string, { before: C | undefined; after: C | undefined }>;

export function diffOf(changes: ChangeSet): string {
  return [...changes]
    .map(([path, { before, after }]) =>
      typeof before === 'object' || typeof after === 'object'
        ? `--- ${before === undefined ? '/dev/null' : `a/${path}`}\n+++ ${after === undefined ? '/dev/null' : `b/${path}`}\nBinary file ${before === undefined ? 'added' : after === undefined ? 'removed' : 'changed'}\n`
        : createTwoFilesPatch(
            before === undefined ? '/dev/null' : `a/${path}`,
            after === undefined ? '/dev/null' : `b/${path}`,
            before ?? '',
            after ?? '',
            '',
            '',
            { context: 3 },
          )
            .split('\n')
            .slice(1) // the ==== line
            .join('\n'),
    )
    .join('');
}

/** Writes the change set; Ctrl-C (`signal`) before the first rename changes nothing. */
export async function applyChanges(root: string, changes: ChangeSet, signal?: AbortSignal): Promise<void> {
  const suffix = `.be-worker-${process.pid}-${Date.now()}`;
  const files = [...changes].map(([path, { before, after }]) => {
    const target = join(root, path);
    return { target, before, after, temp: `${target}${suffix}.new`, backup: `${target}${suffix}.old` };
  });
  const staged = files.filter(({ after }) => after !== undefined);
  const createdDirs: string[] = [];
  const undoStaging = async () => {
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    for (const dir of createdDirs.reverse()) await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const { target, temp, after } of staged) {
      const created = await mkdir(dirname(target), { recursive: true });
      if (created) createdDirs.push(created);
      await writeFile(temp, after ?? '');
    }
    if (signal?.aborted) throw new CancelledError('Cancelled; nothing was changed.');
  } catch (error) {
    await undoStaging();
    throw error;
  }
  await moveAll(
    files.map(({ target, before, after, temp, backup }) => ({
      target,
      staged: after === undefined ? undefined : temp,
      aside: before === undefined ? undefined : backup,
    })),
  ).catch(async (error: unknown) => {
    await undoStaging();
    throw error;
  });
  // The old files stepped aside: only now, with every new one in place, are they removed.
  await Promise.all(
    files.map(({ before, backup }) => (before === undefined ? undefined : rm(backup, { force: true }))),
  );
  // A deletion that empties a folder takes the folder too, as git would show it.
  for (const { target, after } of files) {
    if (after !== undefined) continue;
    for (let dir = dirname(target); dir.length > root.length; dir = dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
  }
}

/** The current bytes of `path` in `root`, or undefined. */
export async function readBytesIfExists(root: string, path: string): Promise<Uint8Array | undefined> {
  return readFile(join(root, path)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

/** The current contents of `path` in `root`, or undefined. */
export async function readIfExists(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
