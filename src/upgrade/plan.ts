// The per-file rules of an upgrade. base: what the recorded version renders for the answers; ours:
// the repository; theirs: what the new version renders for the same answers.
import { isDeepStrictEqual } from 'node:util';
import type { ChangeSet } from '../changes.ts';
import { UserError } from '../errors.ts';
import { ANSWERS_FILE } from '../render.ts';
import type { VirtualTree } from '../tree.ts';
import { type Labels, mergeJson, mergeText } from './merge.ts';

export interface Conflict {
  path: string;
  /** Overlapping hunks marked in the file. */
  hunks?: number;
  /** For package.json and be-worker.json: each key both changed, kept as the team has it. */
  keys?: string[];
}

export type FileAction = 'replaced' | 'merged' | 'added' | 'removed' | 'conflict';

export interface FilesPlan {
  changes: ChangeSet<string>;
  /** What each changed file went through: replaced, merged, added, removed, conflict. */
  actions: Map<string, FileAction>;
  conflicts: Conflict[];
  /** Things kept as the team had them that the template changed, worth a look. */
  notes: string[];
}

/** The team's code: task bodies and their tests are never rewritten (the registry is merged). */
export function ownedByTeam(path: string): boolean {
  return (path.startsWith('src/tasks/') && path !== 'src/tasks/index.ts') || path.startsWith('test/tasks/');
}

const PACKAGE_JSON = 'package.json';
const PIN = 'create-be-worker';
/** be-worker.json's keys that say what rendered it: they follow the new version, never merged. */
const RENDERED_BY = ['cliVersion', 'templateVersion', 'templates'];

/**
 * Whether two renders are the same files with the same contents, be-worker.json's record of what
 * rendered it aside: then an upgrade has nothing to bring.
 */
export function sameRender(base: VirtualTree, theirs: VirtualTree): boolean {
  if (base.size !== theirs.size) return false;
  for (const [path, text] of base) {
    const other = theirs.get(path);
    if (other === text) continue;
    if (other === undefined || path !== ANSWERS_FILE) return false;
    const answers = (source: string) =>
      without(
        parse(source, `${path} as rendered`),
        RENDERED_BY.map((key) => [key]),
      );
    if (!isDeepStrictEqual(answers(text), answers(other))) return false;
  }
  return true;
}

export async function planFiles(
  base: VirtualTree,
  theirs: VirtualTree,
  readOurs: (path: string) => Promise<string | undefined>,
  { labels, version }: { labels: Labels; version: string },
): Promise<FilesPlan> {
  const plan: FilesPlan = { changes: new Map(), actions: new Map(), conflicts: [], notes: [] };
  const paths = [...new Set([...base.keys(), ...theirs.keys()])].filter((path) => !ownedByTeam(path)).sort();
  for (const path of paths) {
    const [b, t, o] = [base.get(path), theirs.get(path), await readOurs(path)];
    if (o === t) continue;
    if (o === undefined) {
      // Deleted by the team: stays deleted; a new template file is added.
      if (b === undefined) set(plan, path, o, t, 'added');
      else if (b !== t) plan.notes.push(`${path}: you deleted it and ${labels.theirs} changed it; left deleted`);
      continue;
    }
    if (t === undefined) {
      // Dropped by the template: removed unless the team changed it.
      if (o === b) set(plan, path, o, undefined, 'removed');
      else if (b !== undefined) plan.notes.push(`${path}: ${labels.theirs} no longer has it, but you changed it; kept`);
      continue;
    }
    if (o === b) {
      set(plan, path, o, t, 'replaced');
      continue;
    }
    if (b === t) continue; // changed by the team only
    if ((path === PACKAGE_JSON || path === ANSWERS_FILE) && b !== undefined) {
      const merged = mergeData(path, { base: b, ours: o, theirs: t }, version, labels.theirs);
      if (merged.text !== o) set(plan, path, o, merged.text, 'merged');
      if (merged.conflicts.length > 0) plan.conflicts.push({ path, keys: merged.conflicts });
      continue;
    }
    const merged = await mergeText(b ?? '', o, t, labels);
    set(plan, path, o, merged.text, merged.conflicts > 0 ? 'conflict' : 'merged');
    if (merged.conflicts > 0) plan.conflicts.push({ path, hunks: merged.conflicts });
  }
  return plan;
}

function set(plan: FilesPlan, path: string, before: string | undefined, after: string | undefined, action: FileAction) {
  plan.changes.set(path, { before, after });
  plan.actions.set(path, action);
}

export type Data = Record<string, unknown> & { devDependencies?: Record<string, unknown> };

/**
 * package.json and be-worker.json merge as data. The versions always follow the new release: the
 * pinned create-be-worker (so `npm run be-worker` runs it) and be-worker.json's versions.
 */
function mergeData(
  path: string,
  texts: { base: string; ours: string; theirs: string },
  version: string,
  theirsLabel: string,
): { text: string; conflicts: string[] } {
  const b = parse(texts.base, `${path} as rendered`);
  const o = parse(texts.ours, path);
  const t = parse(texts.theirs, `${path} as rendered`);
  const followed = path === ANSWERS_FILE ? RENDERED_BY.map((key) => [key]) : [['devDependencies', PIN]];
  const merged = mergeJson(without(b, followed), without(o, followed), without(t, followed));
  let value = merged.value as Data;
  const at = (data: Data, keys: string[]) =>
    keys.reduce<unknown>((node, key) => (node as Data | undefined)?.[key], data);
  const shown = (data: unknown) => (data === undefined ? 'none' : JSON.stringify(data));
  const conflicts = merged.conflicts.map(
    (keys) => `${keys.join('.')}: yours ${shown(at(o, keys))} kept, ${theirsLabel} has ${shown(at(t, keys))}`,
  );
  if (path === ANSWERS_FILE) {
    // First, as the template writes them; one the new version does not write is gone.
    value = { ...Object.fromEntries(RENDERED_BY.filter((key) => key in t).map((key) => [key, t[key]])), ...value };
  } else {
    // The template's pin, or else the team's own pin, moved to the new version.
    const pin = t.devDependencies?.[PIN] ?? (o.devDependencies?.[PIN] === undefined ? undefined : version);
    if (pin !== undefined) value.devDependencies = { ...value.devDependencies, [PIN]: pin };
    for (const key of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']) {
      const deps = value[key] as Record<string, unknown> | undefined;
      if (deps) value[key] = sortedKeys(deps);
    }
  }
  // Unchanged data keeps its bytes; the template's data keeps the template's.
  if (isDeepStrictEqual(value, o)) return { text: texts.ours, conflicts };
  if (isDeepStrictEqual(value, t)) return { text: texts.theirs, conflicts };
  return { text: `${JSON.stringify(value, null, 2)}\n`, conflicts };
}

/** package.json or be-worker.json as data; invalid JSON is the team's to fix, said so. */
export function parse(text: string, what: string): Data {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${what} is not valid JSON (${(error as Error).message}); fix it, then upgrade`);
  }
}

/** A copy without the given keys (each a path of keys). */
function without(data: Data, paths: string[][]): Data {
  const copy = structuredClone(data);
  for (const keys of paths) {
    const parent = keys.slice(0, -1).reduce<unknown>((node, key) => (node as Data | undefined)?.[key], copy);
    if (parent && typeof parent === 'object') delete (parent as Data)[keys.at(-1) ?? ''];
  }
  return copy;
}

/** Dependencies sorted by name, as npm writes them. */
function sortedKeys(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
