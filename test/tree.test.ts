// Applying a virtual tree: all or nothing.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CancelledError, UserError } from '../src/errors.ts';
import { applyTree, type VirtualTree } from '../src/tree.ts';
import { tempDir } from './support/process.ts';

const tree = (entries: Record<string, string>): VirtualTree => new Map(Object.entries(entries));

describe('applyTree', () => {
  it('creates the directory with every file', async () => {
    const parent = await tempDir();
    await applyTree(tree({ 'a.txt': 'A', 'src/b.ts': 'B' }), join(parent, 'out'));
    expect(await readFile(join(parent, 'out', 'src', 'b.ts'), 'utf8')).toBe('B');
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('leaves nothing behind when a write fails part-way', async () => {
    const parent = await tempDir();
    // `a` cannot be both a file and a directory: the second write fails after the first succeeded.
    await expect(applyTree(tree({ a: 'file', 'a/b': 'nested' }), join(parent, 'out'))).rejects.toThrow();
    expect(await readdir(parent)).toEqual([]);
  });

  it('writes nothing once cancelled', async () => {
    const parent = await tempDir();
    const controller = new AbortController();
    controller.abort();
    await expect(applyTree(tree({ a: 'A' }), join(parent, 'out'), { signal: controller.signal })).rejects.toThrow(
      CancelledError,
    );
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses a non-empty directory without force, and a file', async () => {
    const parent = await tempDir();
    await mkdir(join(parent, 'out'));
    await writeFile(join(parent, 'out', 'keep'), 'mine');
    await writeFile(join(parent, 'file'), 'mine');
    await expect(applyTree(tree({ a: 'A' }), join(parent, 'out'))).rejects.toThrow(UserError);
    await expect(applyTree(tree({ a: 'A' }), join(parent, 'file'))).rejects.toThrow(/is a file/);
    expect(await readdir(join(parent, 'out'))).toEqual(['keep']);
  });

  it('fills an existing empty directory in place', async () => {
    const parent = await tempDir();
    await mkdir(join(parent, 'out'));
    expect(await applyTree(tree({ 'x/y': 'Y' }), join(parent, 'out'))).toEqual({});
    expect(await readFile(join(parent, 'out', 'x', 'y'), 'utf8')).toBe('Y');
  });

  it('with force, rolls back every replaced file when a move fails', async () => {
    const parent = await tempDir();
    const out = join(parent, 'out');
    await mkdir(out);
    await writeFile(join(out, 'a'), 'original');
    await writeFile(join(out, 'lib'), 'mine');
    // The tree wants a directory where the user has the file 'lib': that move fails after 'a' moved.
    await expect(applyTree(tree({ a: 'new', 'lib/x.js': 'X', z: 'Z' }), out, { force: true })).rejects.toThrow();
    expect(await readFile(join(out, 'a'), 'utf8')).toBe('original');
    expect(await readFile(join(out, 'lib'), 'utf8')).toBe('mine');
    expect((await readdir(out)).sort()).toEqual(['a', 'lib']);
    expect((await readdir(parent)).sort()).toEqual(['out']);
  });
});
