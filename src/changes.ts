// A change set to an existing repository: files to create or rewrite, shown as a diff, written
// all or nothing (each file goes to a temporary sibling first; the renames come last and are
// undone if one fails).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { CancelledError } from './errors.ts';

/** Path → new contents, with what was there before (undefined: a new file). */
export type ChangeSet = Map<string, { before: string | undefined; after: string }>;

export function diffOf(changes: ChangeSet): string {
  return [...changes]
    .map(([path, { before, after }]) =>
      createTwoFilesPatch(before === undefined ? '/dev/null' : `a/${path}`, `b/${path}`, before ?? '', after, '', '', {
        context: 3,
      })
        .split('\n')
        .slice(1) // the ==== line
        .join('\n'),
    )
    .join('');
}

/** Writes the change set; Ctrl-C (`signal`) before the first rename changes nothing. */
export async function applyChanges(root: string, changes: ChangeSet, signal?: AbortSignal): Promise<void> {
  const staged: { temp: string; target: string; backup?: string }[] = [];
  const suffix = `.be-worker-${process.pid}-${Date.now()}`;
  try {
    for (const [path, { after }] of changes) {
      const target = join(root, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(`${target}${suffix}.new`, after);
      staged.push({ temp: `${target}${suffix}.new`, target });
    }
    if (signal?.aborted) throw new CancelledError('Cancelled; nothing was changed.');
  } catch (error) {
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    throw error;
  }
  const done: typeof staged = [];
  try {
    for (const file of staged) {
      const existed = changes.get(relativeTo(root, file.target))?.before !== undefined;
      if (existed) {
        file.backup = `${file.target}${suffix}.old`;
        await rename(file.target, file.backup);
      }
      done.push(file);
      await rename(file.temp, file.target);
    }
  } catch (error) {
    for (const file of done.reverse()) {
      if (file.backup) await rename(file.backup, file.target);
      else await rm(file.target, { force: true });
    }
    await Promise.all(staged.map(({ temp }) => rm(temp, { force: true })));
    throw error;
  }
  await Promise.all(done.map(({ backup }) => (backup ? rm(backup, { force: true }) : undefined)));
}

function relativeTo(root: string, target: string): string {
  return target.slice(join(root, '/').length);
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
