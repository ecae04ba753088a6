// Moving staged files into place all or nothing, by rename: one writer for a new or --force'd
// worker (tree.ts) and for a change set to a repository (changes.ts). The callers stage the new
// contents first; here the old files step aside, the new ones move in, and a failure undoes it all.
import { mkdir, rename, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One file's move. */
export interface Move {
  /** The file created, replaced or deleted. */
  target: string;
  /** Where the new contents wait; undefined: the target is deleted. */
  staged?: string | undefined;
  /** Where the current target steps aside first, so that an undo can put it back; undefined: it has none. */
  aside?: string | undefined;
}

/**
 * Makes the moves in order, creating the folders they need. If one fails, every step already made
 * is undone, last first: new files go back to where they were staged, old ones to their place, the
 * folders made are removed; then the error is thrown. On success the old files stay aside: the
 * caller keeps them (a backup) or removes them.
 */
export async function moveAll(moves: readonly Move[]): Promise<void> {
  const undo: (() => Promise<unknown>)[] = [];
  try {
    for (const { target, staged, aside } of moves) {
      if (aside !== undefined) {
        await makeFolders(dirname(aside), undo);
        await rename(target, aside);
        undo.push(() => rename(aside, target));
      }
      if (staged !== undefined) {
        await makeFolders(dirname(target), undo);
        await rename(staged, target);
        undo.push(() => rename(target, staged));
      }
    }
  } catch (error) {
    const failed: unknown[] = [];
    for (const step of undo.reverse()) await step().catch((undoError: unknown) => failed.push(undoError));
    if (failed.length === 0) throw error;
    throw new AggregateError(
      [error, ...failed],
      `${(error as Error).message}; undoing the steps already made failed too (${failed.map((each) => (each as Error).message).join('; ')})`,
    );
  }
}

/** `mkdir -p`, with the undo of what it made: each new folder removed, deepest first, if empty. */
async function makeFolders(folder: string, undo: (() => Promise<unknown>)[]): Promise<void> {
  const first = await mkdir(folder, { recursive: true });
  if (first === undefined) return;
  const made = [first];
  for (const part of folder.slice(first.length).split(/[\\/]/).filter(Boolean))
    made.push(join(made.at(-1) ?? first, part));
  undo.push(async () => {
    for (const each of made.reverse()) await rmdir(each).catch(() => {});
  });
}
