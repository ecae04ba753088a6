// The one writer of tree.ts and changes.ts (src/atomic-write.ts): a rename that fails at any step,
// the first to the last, leaves every file as it was and nothing of the attempt behind.
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyChanges, type ChangeSet } from '../src/changes.ts';
import { applyTree } from '../src/tree.ts';
import { tempDir } from './support/process.ts';

// rename, counted: `failAt` makes the n-th call (from 1) fail as a full disk would.
let renames = 0;
let failAt = 0;
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...actual,
    rename: async (...args: Parameters<typeof actual.rename>) => {
      renames++;
      if (renames === failAt) throw Object.assign(new Error(`ENOSPC: rename number ${renames}`), { code: 'ENOSPC' });
      return actual.rename(...args);
    },
  };
});
afterEach(() => {
  failAt = 0;
});

/** Every file and folder under `root`, with each file's contents. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  const all = await Promise.all(
    entries.map(async (entry) => {
      const path = join(entry.parentPath, entry.name);
      return [path.slice(root.length + 1), entry.isDirectory() ? '<dir>' : await fs.readFile(path, 'utf8')] as const;
    }),
  );
  return Object.fromEntries(all.sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function folder(files: Record<string, string>): Promise<string> {
  const root = await tempDir();
  for (const [path, contents] of Object.entries(files)) {
    await fs.mkdir(join(root, path, '..'), { recursive: true });
    await fs.writeFile(join(root, path), contents);
  }
  return root;
}

/** Runs `attempt` once to count its renames, then again failing at each one in turn. */
async function failingAtEachRename(attempt: (run: number) => Promise<void>): Promise<number> {
  renames = 0;
  await attempt(0);
  const total = renames;
  for (let n = 1; n <= total; n++) {
    renames = 0;
    failAt = n;
    await attempt(n);
  }
  return total;
}

describe('a failed rename, at every step', () => {
  it('applyChanges: every file back as it was, no temporary or old copy left', async () => {
    const files = { 'a.txt': 'A', 'gone.txt': 'G', 'sub/c.txt': 'C', 'sub/keep.txt': 'K' };
    const changes: ChangeSet = new Map([
      ['a.txt', { before: 'A', after: 'A2' }],
      ['gone.txt', { before: 'G', after: undefined }],
      ['deep/new/b.txt', { before: undefined, after: 'B' }],
      ['sub/c.txt', { before: 'C', after: 'C2' }],
    ]);
    const total = await failingAtEachRename(async (n) => {
      const root = await folder(files);
      const before = await snapshot(root);
      if (n === 0) return applyChanges(root, changes);
      await expect(applyChanges(root, changes)).rejects.toThrow(`rename number ${n}`);
      expect(await snapshot(root), `failing at rename ${n}`).toEqual(before);
    });
    // a.txt and sub/c.txt: aside and in; gone.txt: aside; b.txt: in.
    expect(total).toBe(6);
  });

  it('applyTree with --force: every file back as it was, no staging or backup left', async () => {
    const files = { 'a.txt': 'mine', 'src/index.ts': 'my code', 'notes.md': 'untouched' };
    const tree = new Map([
      ['a.txt', 'new A'],
      ['docker/grafana/dashboard.json', '{}'],
      ['src/index.ts', 'new code'],
      ['src/tasks/add.ts', 'add'],
    ]);
    const total = await failingAtEachRename(async (n) => {
      const parent = await tempDir();
      const out = join(parent, 'out');
      await fs.cp(await folder(files), out, { recursive: true });
      const before = await snapshot(out);
      if (n === 0) {
        expect((await applyTree(tree, out, { force: true })).backup).toBeDefined();
        return;
      }
      await expect(applyTree(tree, out, { force: true })).rejects.toThrow(`rename number ${n}`);
      expect(await snapshot(out), `failing at rename ${n}`).toEqual(before);
      expect(await fs.readdir(parent), `failing at rename ${n}`).toEqual(['out']);
    });
    // a.txt and src/index.ts: aside and in; the two new files: in.
    expect(total).toBe(6);
  });
});
