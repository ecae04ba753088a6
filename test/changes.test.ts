// Applying a change set to an existing repository: writes, deletions, and the undo when a step fails.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChanges, type ChangeSet, diffOf } from '../src/changes.ts';
import { tempDir } from './support/process.ts';

async function repo(files: Record<string, string>): Promise<string> {
  const root = await tempDir();
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), contents);
  }
  return root;
}

const list = async (root: string) => (await readdir(root, { recursive: true })).sort();

describe('applyChanges', () => {
  it('creates, rewrites and deletes, and removes the folder a deletion empties', async () => {
    const root = await repo({ 'a.txt': 'A', 'docker/old.yml': 'old', 'keep.txt': 'K' });
    const changes: ChangeSet = new Map([
      ['a.txt', { before: 'A', after: 'A2' }],
      ['docker/old.yml', { before: 'old', after: undefined }],
      ['src/new.ts', { before: undefined, after: 'N' }],
    ]);
    await applyChanges(root, changes);
    expect(await list(root)).toEqual(['a.txt', 'keep.txt', 'src', 'src/new.ts']);
    expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('A2');
    expect(diffOf(changes)).toContain('--- a/docker/old.yml\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-old');
  });

  it('undoes every step, deletions included, when a later one fails', async () => {
    const root = await repo({ 'a.txt': 'A', 'gone.txt': 'G' });
    const changes: ChangeSet = new Map([
      ['a.txt', { before: 'A', after: 'A2' }],
      ['gone.txt', { before: 'G', after: undefined }],
      ['new/b.txt', { before: undefined, after: 'B' }],
      // Said to exist but missing: its rename fails after the others were made.
      ['missing.txt', { before: 'M', after: 'M2' }],
    ]);
    await expect(applyChanges(root, changes)).rejects.toThrow(/ENOENT/);
    expect(await list(root)).toEqual(['a.txt', 'gone.txt']);
    expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('A');
    expect(await readFile(join(root, 'gone.txt'), 'utf8')).toBe('G');
  });

  it('puts everything back when a rename fails on a folder in the way, without touching the folder', async () => {
    const files = { 'a.txt': 'A', 'gone.txt': 'G', 'in-the-way/mine.txt': 'mine' };
    for (const position of [0, 1, 2, 3]) {
      const root = await repo(files);
      const steps: [string, { before: string | undefined; after: string | undefined }][] = [
        ['a.txt', { before: 'A', after: 'A2' }],
        ['gone.txt', { before: 'G', after: undefined }],
        ['new/b.txt', { before: undefined, after: 'B' }],
      ];
      // A new file where the repository has a folder: its rename fails (EISDIR) after the earlier ones.
      steps.splice(position, 0, ['in-the-way', { before: undefined, after: 'file' }]);
      await expect(applyChanges(root, new Map(steps))).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
      expect(await list(root), `in the way at ${position}`).toEqual([
        'a.txt',
        'gone.txt',
        'in-the-way',
        'in-the-way/mine.txt',
      ]);
      expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('A');
      expect(await readFile(join(root, 'gone.txt'), 'utf8')).toBe('G');
      expect(await readFile(join(root, 'in-the-way', 'mine.txt'), 'utf8')).toBe('mine');
    }
  });
});
