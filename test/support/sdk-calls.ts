// The AWS SDK commands a generated worker's process can send, read from its code: every
// `new XxxCommand(` in the modules its entry point reaches. Imports are followed as the process
// loads them (static, dynamic, the lease keeper's worker thread), except through a module that only
// re-exports (src/runtime/index.ts): there only the names imported are followed, so a task's
// `defineTask` does not count the queue creation `npm run dev` imports from the same index. An SDK
// loaded only when needed counts as imported where its commands are taken from it by name:
// `const { GetObjectCommand } = await import('@aws-sdk/client-s3')`.
import { posix } from 'node:path';
import { parse } from '@babel/parser';
import type * as t from '@babel/types';
import type { VirtualTree } from '../../src/tree.ts';

/** SDK client package → the command classes constructed from it. */
export type SdkCommands = Map<string, Set<string>>;

const ALL = 'all';
type Wanted = typeof ALL | ReadonlySet<string>;

export function sdkCommands(tree: VirtualTree, entry: string): SdkCommands {
  const commands: SdkCommands = new Map();
  const seen = new Map<string, Wanted>();
  const visit = (path: string, wanted: Wanted) => {
    const before = seen.get(path);
    if (before === ALL || (before && wanted !== ALL && [...wanted].every((name) => before.has(name)))) return;
    seen.set(path, wanted === ALL || !before ? wanted : new Set([...before, ...wanted]));
    const source = tree.get(path);
    if (source === undefined) throw new Error(`${path} is imported but was not generated`);
    const module = parse(source, { sourceType: 'module', plugins: ['typescript'] }).program;
    const resolve = (specifier: string) => resolveImport(path, specifier);
    const reExported = new Set<string>();
    for (const statement of module.body) {
      if (statement.type === 'ExportAllDeclaration' && statement.exportKind !== 'type') {
        visit(resolve(statement.source.value), wanted);
      }
      if (statement.type === 'ExportNamedDeclaration' && statement.source && statement.exportKind !== 'type') {
        const names = new Set<string>();
        for (const specifier of statement.specifiers) {
          if (specifier.type !== 'ExportSpecifier' || specifier.exportKind === 'type') continue;
          const exported = nameOf(specifier.exported);
          reExported.add(exported);
          if (wanted === ALL || wanted.has(exported)) names.add(nameOf(specifier.local));
        }
        if (names.size > 0) visit(resolve(statement.source.value), names);
      }
    }
    // Imported only for names it passes on from other modules: its own code never runs for them.
    if (wanted !== ALL && [...wanted].every((name) => reExported.has(name))) return;
    const imported = new Map<string, string>();
    for (const statement of module.body) {
      if (statement.type !== 'ImportDeclaration' || statement.importKind === 'type') continue;
      const from = statement.source.value;
      const values = statement.specifiers.filter(
        (specifier) => !(specifier.type === 'ImportSpecifier' && specifier.importKind === 'type'),
      );
      for (const specifier of values) imported.set(specifier.local.name, from);
      if (!from.startsWith('.')) continue;
      if (statement.specifiers.length > 0 && values.length === 0) continue;
      const named = values.every((specifier) => specifier.type === 'ImportSpecifier');
      visit(
        resolve(from),
        statement.specifiers.length > 0 && named
          ? new Set(values.map((specifier) => nameOf((specifier as t.ImportSpecifier).imported)))
          : ALL,
      );
    }
    for (const [, names = '', from = ''] of source.matchAll(
      /\bconst \{([^}]*)\} =\s*await import\(\s*['"`](@aws-sdk\/[\w-]+)['"`]\s*\)/g,
    )) {
      for (const name of names.split(',').map((name) => name.trim())) if (name) imported.set(name, from);
    }
    // What runs later: dynamic imports, and worker threads started from `new URL('./x…', import.meta.url)`.
    for (const [, specifier] of source.matchAll(/\bimport\(\s*['"`](\.\.?\/[^'"`$]+)['"`]\s*\)/g)) {
      visit(resolve(specifier as string), ALL);
    }
    for (const [, specifier] of source.matchAll(/\bnew URL\(\s*['"`](\.\.?\/[\w./-]+?)(?:\$\{[^}]*\})?['"`]/g)) {
      visit(resolve(specifier as string), ALL);
    }
    for (const [, name] of source.matchAll(/\bnew (\w+Command)\(/g)) {
      const from = imported.get(name as string);
      if (!from?.startsWith('@aws-sdk/')) continue;
      commands.set(from, (commands.get(from) ?? new Set()).add(name as string));
    }
  };
  visit(entry, ALL);
  return commands;
}

/** The tree path of a relative import; `./lease-thread` (its extension computed) is the .ts file. */
function resolveImport(from: string, specifier: string): string {
  const path = posix.normalize(posix.join(posix.dirname(from), specifier));
  return posix.extname(path) ? path : `${path}.ts`;
}

function nameOf(node: t.Identifier | t.StringLiteral): string {
  return node.type === 'Identifier' ? node.name : node.value;
}
