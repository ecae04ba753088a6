// Reading and editing the team's TypeScript on its syntax tree: Babel finds the nodes, and edits
// are insertions at their positions, so every other byte — comments, order, formatting — stays.
import { parse } from '@babel/parser';
import type * as t from '@babel/types';
import { UserError } from '../errors.ts';

export type { t };

export function parseModule(source: string, path: string): t.File {
  try {
    return parse(source, { sourceType: 'module', plugins: ['typescript'] });
  } catch (error) {
    throw new UserError(`${path} does not parse (${(error as Error).message}); fix it and run again`);
  }
}

/** The array literal assigned to `export const <name> = [...]` (with or without a type). */
export function exportedArray(file: t.File, name: string, path: string): t.ArrayExpression {
  return exportedLiteral(file, name, path, 'ArrayExpression', '[...]', 'an array literal');
}

/** The object literal assigned to `export const <name> = {...}` (with or without a type). */
export function exportedObject(file: t.File, name: string, path: string): t.ObjectExpression {
  return exportedLiteral(file, name, path, 'ObjectExpression', '{...}', 'an object literal');
}

function exportedLiteral<T extends 'ArrayExpression' | 'ObjectExpression'>(
  file: t.File,
  name: string,
  path: string,
  type: T,
  shape: string,
  what: string,
): Extract<t.Expression, { type: T }> {
  for (const statement of file.program.body) {
    if (statement.type !== 'ExportNamedDeclaration' || statement.declaration?.type !== 'VariableDeclaration') continue;
    for (const declarator of statement.declaration.declarations) {
      if (declarator.id.type !== 'Identifier' || declarator.id.name !== name) continue;
      let init = declarator.init;
      while (init && (init.type === 'TSAsExpression' || init.type === 'TSSatisfiesExpression')) init = init.expression;
      if (init?.type === type) return init as Extract<t.Expression, { type: T }>;
      throw new UserError(
        `${path}: \`${name}\` is not ${what}; be-worker reads only \`export const ${name} = ${shape}\``,
      );
    }
  }
  throw new UserError(`${path} has no \`export const ${name} = ${shape}\``);
}

/** The indentation of the line `offset` is on. */
export function indentAt(source: string, offset: number): string {
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(source.slice(lineStart))?.[0] ?? '';
}

/** `'` or `"`, as the file already quotes its strings. */
export function quoteOf(source: string, node: { start?: number | null } | undefined): string {
  return node?.start != null && source[node.start] === '"' ? '"' : "'";
}

/**
 * Where to insert after `node`: past a comma that follows it (comments may stand between), and
 * past a comment that ends its line, so that comment stays with the node.
 */
export function endWithComma(source: string, node: { end?: number | null }): { end: number; comma: boolean } {
  const end = node.end ?? 0;
  const comma = /^(?:\s|\/\*[\s\S]*?\*\/)*,/.exec(source.slice(end));
  const after = comma ? end + comma[0].length : end;
  return { end: endOfLine(source, after), comma: Boolean(comma) };
}

/** `offset`, or the end of its line when only a comment or blanks follow on it. */
export function endOfLine(source: string, offset: number): number {
  const rest = /^[ \t]*(?:\/\/[^\n]*|\/\*[^\n]*?\*\/[ \t]*)?(?=\n|$)/.exec(source.slice(offset));
  return rest ? offset + rest[0].length : offset;
}
