// src/config/schedules.ts: the worker's periodic tasks, read and edited on its syntax tree. An
// entry is `schedule({ ... })` (or a plain `{ ... }`); an edit is an insertion or a cut, so the
// team's comments, quotes and layout stay.
import MagicString from 'magic-string';
import type { ScheduleEntry } from '../../templates/worker/src/runtime/schedules.ts';
import { UserError } from '../errors.ts';
import { endOfLine, endWithComma, exportedArray, indentAt, parseModule, quoteOf, type t } from './parse.ts';

export const SCHEDULES_FILE = 'src/config/schedules.ts';

/** What `be-worker schedule add` writes: a ScheduleEntry whose task is an identifier to import. */
export type ScheduleFields = Omit<ScheduleEntry, 'task'>;

/** The task as schedules.ts names it: the identifier its module exports, and that module from src/config/. */
export interface TaskImport {
  identifier: string;
  specifier: string;
}

/** `schedule()`, from src/config/. */
const SCHEDULE_IMPORT: TaskImport = { identifier: 'schedule', specifier: '../runtime/index.ts' };

/** The order fields are written in, after name and task: as ScheduleEntry declares them. */
const FIELD_ORDER = [
  'args',
  'kwargs',
  'expression',
  'timezone',
  'flexibleWindowMinutes',
  'start',
  'end',
  'queue',
  'description',
] as const satisfies readonly (keyof ScheduleFields)[];

interface EntryNode {
  /** The array element: the `schedule(...)` call or the object. */
  element: t.Expression;
  object: t.ObjectExpression;
  name?: string;
}

function entries(source: string): { file: t.File; array: t.ArrayExpression; entries: EntryNode[] } {
  const file = parseModule(source, SCHEDULES_FILE);
  const array = exportedArray(file, 'schedules', SCHEDULES_FILE);
  const found = array.elements.flatMap((element): EntryNode[] => {
    if (!element || element.type === 'SpreadElement') return [];
    const object =
      element.type === 'ObjectExpression'
        ? element
        : element.type === 'CallExpression' && element.arguments[0]?.type === 'ObjectExpression'
          ? element.arguments[0]
          : undefined;
    if (!object) return [];
    const name = object.properties.find(
      (property): property is t.ObjectProperty =>
        property.type === 'ObjectProperty' && property.key.type === 'Identifier' && property.key.name === 'name',
    )?.value;
    return [{ element, object, name: name?.type === 'StringLiteral' ? name.value : undefined }];
  });
  return { file, array, entries: found };
}

/** True when the exported list is an empty array literal (as every worker's is made): nothing to resolve. */
export function listsNoSchedules(source: string): boolean {
  try {
    return entries(source).array.elements.length === 0;
  } catch {
    // Not a literal list (or not parsing): only the worker's own code can say what it holds.
    return false;
  }
}

/** The names written as string literals, in order (the only ones an edit can find). */
export function scheduleNames(source: string): string[] {
  return entries(source).entries.flatMap(({ name }) => (name === undefined ? [] : [name]));
}

/** Appends an entry in the style of the last one (a `schedule()` call or an object), importing its task if needed. */
export function appendSchedule(source: string, fields: ScheduleFields, task: TaskImport): string {
  const { file, array, entries: existing } = entries(source);
  if (existing.some(({ name }) => name === fields.name)) {
    throw new UserError(`schedule "${fields.name}" is already in ${SCHEDULES_FILE}; pick another name`);
  }
  const edit = new MagicString(source);
  const imports = file.program.body.filter((node): node is t.ImportDeclaration => node.type === 'ImportDeclaration');
  const quote = quoteOf(source, imports.at(-1)?.source);
  const last = existing.at(-1);
  // A schedule() call types the args by the task's schema: the way, unless the list is of plain objects.
  const calls = last ? last.element.type === 'CallExpression' : true;
  const callee =
    last?.element.type === 'CallExpression'
      ? source.slice(last.element.callee.start ?? 0, last.element.callee.end ?? 0)
      : 'schedule';
  const bound = imports.some((node) => node.specifiers.some((specifier) => specifier.local.name === callee));
  if (calls && callee === 'schedule' && !bound) addImport(source, edit, imports, SCHEDULE_IMPORT, quote);
  addImport(source, edit, imports, task, quote);
  const indent = last ? indentAt(source, last.element.start ?? 0) : '  ';
  const firstField = last?.object.properties[0];
  const onOwnLine = firstField && source.slice(last.object.start ?? 0, firstField.start ?? 0).includes('\n');
  const inner = onOwnLine ? indentAt(source, firstField.start ?? 0) : `${indent}  `;
  const { name, ...rest } = fields;
  const lines = [
    `${inner}name: ${literal(name, quote)},\n`,
    `${inner}task: ${task.identifier},\n`,
    ...FIELD_ORDER.flatMap((key) =>
      rest[key] === undefined ? [] : [`${inner}${key}: ${literal(rest[key], quote)},\n`],
    ),
  ];
  const body = `{\n${lines.join('')}${indent}}`;
  const entry = `${indent}${calls ? `${callee}(${body})` : body},`;
  if (last) {
    const { end, comma } = endWithComma(source, last.element);
    edit.appendLeft(end, `${comma ? '' : ','}\n${entry}`);
  } else {
    // An empty list, `[]` or `[\n]`: the entry on its own lines inside it.
    const [open, close] = [(array.start ?? 0) + 1, (array.end ?? 1) - 1];
    const inside = source.slice(open, close);
    // A comment in it (the generated example) stays, a blank line above the entry: not its own comment.
    const filled = `${inside.trim() ? `${inside.trimEnd()}\n` : ''}\n${entry}\n`;
    if (inside) edit.overwrite(open, close, filled);
    else edit.appendLeft(open, filled);
  }
  return edit.toString();
}

/** Imports `task` unless the file has it; among the relative imports in order, as Biome sorts them. */
function addImport(
  source: string,
  edit: MagicString,
  imports: t.ImportDeclaration[],
  task: TaskImport,
  quote: string,
): void {
  const bound = imports.flatMap((node) =>
    node.specifiers.map((specifier) => ({ node, specifier, local: specifier.local.name })),
  );
  const same = bound.find(({ local }) => local === task.identifier);
  if (same) {
    const imported = same.specifier.type === 'ImportSpecifier' ? same.specifier.imported : undefined;
    const importedName = imported?.type === 'Identifier' ? imported.name : imported?.value;
    if (same.node.source.value === task.specifier && importedName === task.identifier) return;
    throw new UserError(
      `${SCHEDULES_FILE} already has a \`${task.identifier}\` that is not the task's (import { ${task.identifier} } from '${task.specifier}'); rename it there and run again`,
    );
  }
  const line = `import { ${task.identifier} } from ${quote}${task.specifier}${quote};`;
  const next = imports.find((node) => node.source.value.startsWith('.') && node.source.value > task.specifier);
  if (next) edit.appendLeft(next.start ?? 0, `${line}\n`);
  else if (imports.length) edit.appendLeft(endOfLine(source, imports.at(-1)?.end ?? 0), `\n${line}`);
  else edit.prepend(`${line}\n`);
}

/**
 * Cuts the entry named `name`, with the comment lines just above it; then its task's import, if
 * nothing else in the file uses that identifier.
 */
export function removeSchedule(source: string, name: string): string {
  const { array, entries: existing } = entries(source);
  const entry = existing.find((candidate) => candidate.name === name);
  if (!entry) {
    const names = existing.flatMap(({ name }) => (name === undefined ? [] : [name]));
    throw new UserError(
      `no schedule "${name}" in ${SCHEDULES_FILE}; ${names.length ? `its schedules: ${names.join(', ')}` : 'it has none'}`,
    );
  }
  const index = array.elements.indexOf(entry.element);
  const previous = array.elements[index - 1];
  const from = commentedStart(source, entry.element, previous?.end ?? array.start ?? 0);
  const { end } = endWithComma(source, entry.element);
  const lineStart = source.lastIndexOf('\n', from - 1) + 1;
  const edit = new MagicString(source);
  const [open, close] = [(array.start ?? 0) + 1, (array.end ?? 1) - 1];
  if (array.elements.length === 1 && !source.slice(open, from).trim() && !source.slice(end, close).trim()) {
    // The last one: `[]`, as the file was before the first add.
    edit.overwrite(open, close, '');
  } else if (!source.slice(lineStart, from).trim() && (source[end] === '\n' || end === source.length)) {
    // On lines of its own: the lines go, and a blank line above when nothing follows in the list.
    const blankAbove = /\n[ \t]*\n$/.exec(source.slice(0, lineStart));
    const lastInList = !source.slice(end, close).trim();
    edit.remove(
      blankAbove && lastInList ? lineStart - blankAbove[0].length + 1 : lineStart,
      Math.min(end + 1, source.length),
    );
  } else {
    // Inline, `[a, b]`: the element and the comma and blanks after it (or before it, for the last).
    const after = /^\s*,?\s*/.exec(source.slice(entry.element.end ?? 0))?.[0] ?? '';
    const next = array.elements[index + 1];
    if (next) edit.remove(from, next.start ?? 0);
    else if (previous) edit.remove(previous.end ?? 0, (entry.element.end ?? 0) + after.trimEnd().length);
    else edit.remove(from, (entry.element.end ?? 0) + after.length);
  }
  const callee =
    entry.element.type === 'CallExpression' && entry.element.callee.type === 'Identifier'
      ? entry.element.callee.name
      : undefined;
  return [taskIdentifierOf(entry.object), callee].reduce<string>(
    (cut, identifier) => (identifier ? withoutUnusedImport(cut, identifier) : cut),
    edit.toString(),
  );
}

/** Where the entry starts with the comment lines right above it (no blank line between), after `floor`. */
function commentedStart(source: string, element: t.Node, floor: number): number {
  let from = element.start ?? 0;
  for (const comment of [...(element.leadingComments ?? [])].reverse()) {
    const between = source.slice(comment.end ?? 0, from);
    if ((comment.start ?? 0) < floor || between.trim() || (between.match(/\n/g)?.length ?? 0) > 1) break;
    from = comment.start ?? 0;
  }
  return from;
}

function taskIdentifierOf(object: t.ObjectExpression): string | undefined {
  const task = object.properties.find(
    (property): property is t.ObjectProperty =>
      property.type === 'ObjectProperty' && property.key.type === 'Identifier' && property.key.name === 'task',
  )?.value;
  return task?.type === 'Identifier' ? task.name : undefined;
}

/** Removes `import { identifier } from '…'` (its own declaration, nothing else in it) when unused. */
function withoutUnusedImport(source: string, identifier: string): string {
  const file = parseModule(source, SCHEDULES_FILE);
  const declaration = file.program.body.find(
    (node): node is t.ImportDeclaration =>
      node.type === 'ImportDeclaration' &&
      node.specifiers.length === 1 &&
      node.specifiers[0]?.local.name === identifier,
  );
  if (!declaration || uses(file.program, identifier, declaration)) return source;
  const lineStart = source.lastIndexOf('\n', (declaration.start ?? 0) - 1) + 1;
  const lineEnd = endOfLine(source, declaration.end ?? 0);
  // On a line of its own (a comment after it goes with it).
  const own =
    !source.slice(lineStart, declaration.start ?? 0).trim() && (source[lineEnd] === '\n' || lineEnd === source.length);
  if (!own) return source;
  const edit = new MagicString(source);
  edit.remove(lineStart, Math.min(lineEnd + 1, source.length));
  return edit.toString();
}

/** Whether `identifier` is referenced anywhere in `node` but `skip`. */
function uses(node: unknown, identifier: string, skip: unknown): boolean {
  if (node === skip || node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((child) => uses(child, identifier, skip));
  const record = node as Record<string, unknown>;
  if (record.type === 'Identifier' && record.name === identifier) return true;
  return Object.entries(record).some(
    ([key, child]) =>
      key !== 'loc' && key !== 'leadingComments' && key !== 'trailingComments' && uses(child, identifier, skip),
  );
}

/** A JSON value as TypeScript source, in the file's quotes, inline (`['a', 1]`, `{ dryRun: true }`). */
export function literal(value: unknown, quote: string): string {
  if (typeof value === 'string') return quoteString(value, quote);
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, quote)).join(', ')}]`;
  if (value && typeof value === 'object') {
    const fields = Object.entries(value).map(
      ([key, item]) => `${/^[A-Za-z_$][\w$]*$/.test(key) ? key : quoteString(key, quote)}: ${literal(item, quote)}`,
    );
    return fields.length ? `{ ${fields.join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

/** A string in `quote`, or in the other quote when it holds `quote` and not the other (as Biome does). */
function quoteString(text: string, quote: string): string {
  const other = quote === "'" ? '"' : "'";
  const use = text.includes(quote) && !text.includes(other) ? other : quote;
  const escaped = JSON.stringify(text).slice(1, -1).replaceAll('\\"', '"').replaceAll(use, `\\${use}`);
  return `${use}${escaped}${use}`;
}
