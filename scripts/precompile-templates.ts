// Run by `npm run build` (tsup's onSuccess): every Handlebars template under templates/,
// precompiled into dist/templates.precompiled.js with its source (src/templates.ts); and the
// templates' sha256 into dist/templates.sha256 (src/identity.ts).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { DIGEST_FILE, templatesDigest } from '../src/identity.ts';
import { COMPILE_OPTIONS, PRECOMPILED_FILE } from '../src/templates.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const templates = join(root, 'templates');
const entries = (await readdir(templates, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile() && entry.name.endsWith('.hbs'))
  .map((entry) => relative(templates, join(entry.parentPath, entry.name)).split(sep).join('/'))
  .sort();
const lines = await Promise.all(
  entries.map(async (name) => {
    const source = await readFile(join(templates, name), 'utf8');
    const spec = eagerly(String(Handlebars.precompile(source, COMPILE_OPTIONS)));
    return `  ${JSON.stringify(name)}: { source: ${JSON.stringify(source)}, spec: ${spec} },`;
  }),
);
await writeFile(join(root, 'dist', PRECOMPILED_FILE), `export default {\n${lines.join('\n')}\n};\n`);
console.log(`precompiled ${entries.length} templates into dist/${PRECOMPILED_FILE}`);
// What an installed package records in the workers it makes (src/identity.ts), without reading every template.
await writeFile(join(root, 'dist', DIGEST_FILE), `${templatesDigest(templates)}\n`);

/**
 * A precompiled template with each of its functions in parentheses: V8 compiles those with the
 * module, so Node's compile cache keeps them, where it would compile a plain one on its first
 * call, in every run.
 */
function eagerly(spec: string): string {
  const template = new Function(`return ${spec}`)() as Record<string, unknown>;
  const fields = Object.entries(template).map(
    ([key, value]) =>
      `${JSON.stringify(key)}: ${typeof value === 'function' ? `(${value.toString()})` : JSON.stringify(value)}`,
  );
  return `{ ${fields.join(', ')} }`;
}
