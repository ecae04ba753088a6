// Three-way merges of one file: line-wise by `git merge-file` for text, key by key for JSON data.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { execa } from 'execa';
import { EnvironmentError } from '../errors.ts';

/** The names the conflict markers give each side. */
export interface Labels {
  ours: string;
  base: string;
  theirs: string;
}

/** `git merge-file`: changes on both sides combined, overlaps between conflict markers. */
export async function mergeText(
  base: string,
  ours: string,
  theirs: string,
  labels: Labels,
): Promise<{ text: string; conflicts: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'be-worker-merge-'));
  try {
    const files = { ours: join(dir, 'ours'), base: join(dir, 'base'), theirs: join(dir, 'theirs') };
    await Promise.all([writeFile(files.ours, ours), writeFile(files.base, base), writeFile(files.theirs, theirs)]);
    const labelArgs = ['-L', labels.ours, '-L', labels.base, '-L', labels.theirs];
    const result = await execa('git', ['merge-file', '-p', ...labelArgs, files.ours, files.base, files.theirs], {
      reject: false,
      stripFinalNewline: false,
      stdin: 'ignore',
    });
    // Its exit code is the number of conflicts; an error is negative (255 and so on).
    if (result.exitCode === undefined || result.exitCode > 127) {
      throw new EnvironmentError(`git merge-file failed: ${result.stderr || result.shortMessage}`);
    }
    return { text: result.stdout, conflicts: result.exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Json = unknown;
const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Merges JSON values: what only one side changed is taken from that side, objects are merged key
 * by key (in our order, new keys after), and a key both changed differently keeps ours and its
 * path is in `conflicts`. Undefined means absent.
 */
export function mergeJson(
  base: Json,
  ours: Json,
  theirs: Json,
  path: string[] = [],
): { value: Json; conflicts: string[][] } {
  if (isDeepStrictEqual(ours, base) || isDeepStrictEqual(ours, theirs)) return { value: theirs, conflicts: [] };
  if (isDeepStrictEqual(theirs, base)) return { value: ours, conflicts: [] };
  if (isObject(ours) && isObject(theirs) && (base === undefined || isObject(base))) {
    const value: Record<string, Json> = {};
    const conflicts: string[][] = [];
    for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
      const merged = mergeJson(base?.[key], ours[key], theirs[key], [...path, key]);
      if (merged.value !== undefined) value[key] = merged.value;
      conflicts.push(...merged.conflicts);
    }
    return { value, conflicts };
  }
  return { value: ours, conflicts: [path] };
}
