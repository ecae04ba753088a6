// src/tasks/index.ts: the task registry, extended on its syntax tree.
import MagicString from 'magic-string';
import { UserError } from '../errors.ts';
import { endOfLine, endWithComma, exportedArray, indentAt, parseModule, quoteOf, type t } from './parse.ts';

export const TASKS_FILE = 'src/tasks/index.ts';

/** Biome's line width, past which a one-line array is laid out one item per line. */
const LINE_WIDTH = 120;

/** The identifiers in the `tasks` array. */
export function registeredTasks(source: string): string[] {
  const array = exportedArray(parseModule(source, TASKS_FILE), 'tasks', TASKS_FILE);
  return array.elements.flatMap((element) => (element?.type === 'Identifier' ? [element.name] : []));
}

/** Imports `identifier` from `./<file>.ts`, among the other relative imports in order, and registers it. */
export function registerTask(source: string, identifier: string, file: string): string {
  const ast = parseModule(source, TASKS_FILE);
  const array = exportedArray(ast, 'tasks', TASKS_FILE);
  if (array.elements.some((element) => element?.type === 'Identifier' && element.name === identifier)) {
    throw new UserError(`${TASKS_FILE} already registers ${identifier}`);
  }
  const edit = new MagicString(source);

  const imports = ast.program.body.filter((node): node is t.ImportDeclaration => node.type === 'ImportDeclaration');
  const specifier = `./${file}.ts`;
  const quote = quoteOf(source, imports.at(-1)?.source);
  const line = `import { ${identifier} } from ${quote}${specifier}${quote};`;
  const next = imports.find((node) => node.source.value.startsWith('./') && node.source.value > specifier);
  if (next) edit.appendLeft(next.start ?? 0, `${line}\n`);
  else if (imports.length) edit.appendLeft(endOfLine(source, imports.at(-1)?.end ?? 0), `\n${line}`);
  else edit.prepend(`${line}\n`);

  const last = array.elements.at(-1);
  const multiline = source.slice(array.start ?? 0, array.end ?? 0).includes('\n');
  if (!last) {
    edit.appendLeft((array.end ?? 1) - 1, identifier);
  } else if (multiline) {
    const { end, comma } = endWithComma(source, last);
    edit.appendLeft(end, `${comma ? '' : ','}\n${indentAt(source, last.start ?? 0)}${identifier},`);
  } else {
    const lineStart = source.lastIndexOf('\n', array.start ?? 0) + 1;
    const lineEnd = source.indexOf('\n', array.end ?? 0);
    const tooLong = (lineEnd === -1 ? source.length : lineEnd) - lineStart + identifier.length + 2 > LINE_WIDTH;
    if (tooLong) {
      const indent = `${indentAt(source, array.start ?? 0)}  `;
      const items = [
        ...array.elements.map((element) => source.slice(element?.start ?? 0, element?.end ?? 0)),
        identifier,
      ];
      edit.overwrite(array.start ?? 0, array.end ?? 0, `[\n${items.map((item) => `${indent}${item},\n`).join('')}]`);
    } else {
      edit.appendLeft(last.end ?? 0, `, ${identifier}`);
    }
  }
  return edit.toString();
}

/** Each task the registry imports from a module of its own: the identifier, and that module (`./ship.ts`). */
export function registeredImports(source: string): { identifier: string; imported: string; specifier: string }[] {
  const ast = parseModule(source, TASKS_FILE);
  const registered = new Set(registeredTasks(source));
  return ast.program.body.flatMap((node) =>
    node.type === 'ImportDeclaration' && node.source.value.startsWith('.') && node.importKind !== 'type'
      ? node.specifiers.flatMap((specifier) =>
          specifier.type === 'ImportSpecifier' && registered.has(specifier.local.name)
            ? [
                {
                  identifier: specifier.local.name,
                  imported:
                    specifier.imported.type === 'Identifier' ? specifier.imported.name : specifier.imported.value,
                  specifier: node.source.value,
                },
              ]
            : [],
        )
      : [],
  );
}

/** The Celery name of `export const <identifier> = defineTask({ name: '…' })` in a task module, if a literal. */
export function definedTaskName(source: string, path: string, identifier: string): string | undefined {
  for (const statement of parseModule(source, path).program.body) {
    if (statement.type !== 'ExportNamedDeclaration' || statement.declaration?.type !== 'VariableDeclaration') continue;
    for (const declarator of statement.declaration.declarations) {
      if (declarator.id.type !== 'Identifier' || declarator.id.name !== identifier) continue;
      const call = declarator.init;
      const definition = call?.type === 'CallExpression' ? call.arguments[0] : undefined;
      if (definition?.type !== 'ObjectExpression') return undefined;
      for (const property of definition.properties) {
        if (
          property.type === 'ObjectProperty' &&
          property.key.type === 'Identifier' &&
          property.key.name === 'name' &&
          property.value.type === 'StringLiteral'
        )
          return property.value.value;
      }
    }
  }
  return undefined;
}
