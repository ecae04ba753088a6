// The template engine: Handlebars, strict (a missing value is an error) and unescaped (the output
// is code, not HTML). `npm run build` precompiles every template into dist/ (scripts/
// precompile-templates.ts), so a run loads only Handlebars' small runtime; a template without a
// current precompiled form (from source, in tests, or edited since the build) compiles on use.
import type Handlebars from 'handlebars';
import RuntimeBuild from 'handlebars/runtime.js';

export const COMPILE_OPTIONS = { strict: true, noEscape: true } as const;

type Engine = typeof Handlebars;
/** The runtime build has the full build's API but for compiling; its own .d.ts declares none. */
const Runtime = RuntimeBuild as unknown as Engine;
type Template = (view: object) => string;

/** The precompiled templates by path under templates/, each with the source it was made from. */
export type PrecompiledTemplates = Record<string, { source: string; spec: TemplateSpecification }>;
type TemplateSpecification = Parameters<Engine['template']>[0];

export const PRECOMPILED_FILE = 'templates.precompiled.js';

function withHelpers(engine: Engine): Engine {
  engine.registerHelper('json', (value: unknown) => JSON.stringify(value));
  engine.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  engine.registerHelper('or', (a: unknown, b: unknown) => a || b);
  engine.registerHelper('pluck', (items: Record<string, unknown>[], key: string) => items.map((item) => item[key]));
  /**
   * An array literal laid out as Biome lays it out: on one line if it fits in 120 columns, else one
   * item a line, indented one level past `indent` (the indent of the line it is on).
   */
  engine.registerHelper('inlineList', (prefix: string, items: string[], suffix: string, indent: unknown) => {
    const inline = `[${items.join(', ')}]`;
    // Handlebars passes its options object last: `indent` is a string only when the template gives one.
    const outer = typeof indent === 'string' ? indent : '';
    return prefix.length + inline.length + suffix.length <= 120
      ? inline
      : `[\n${items.map((item) => `${outer}  ${item},\n`).join('')}${outer}]`;
  });
  /** A shell block whose `#` comments line up, however long the values rendered before them. */
  engine.registerHelper('alignComments', function (this: unknown, options: Handlebars.HelperOptions) {
    return alignComments(options.fn(this));
  });
  return engine;
}

/** Lines of the form `command   # comment`, with every `#` in one column, 3 spaces after the longest command. */
function alignComments(text: string): string {
  const lines = text.split('\n').map((line) => /^(\S.*?)\s+(# .*)$/.exec(line) ?? line);
  const width = Math.max(0, ...lines.map((line) => (typeof line === 'string' ? 0 : (line[1] ?? '').length)));
  return lines
    .map((line) => (typeof line === 'string' ? line : `${(line[1] ?? '').padEnd(width)}   ${line[2] ?? ''}`))
    .join('\n');
}

const runtime = withHelpers(Runtime.create());
const precompiled: PrecompiledTemplates = await import(new URL(`./${PRECOMPILED_FILE}`, import.meta.url).href).then(
  (module: { default: PrecompiledTemplates }) => module.default,
  () => ({}),
);
let compiler: Promise<Engine> | undefined;

/** Handlebars with its compiler, loaded the first time a template has no precompiled form. */
function withCompiler(): Promise<Engine> {
  compiler ??= import('handlebars').then(({ default: full }) => withHelpers(full.create()));
  return compiler;
}

/** Renders the template at `name` (its path under templates/) whose text is `source`. */
export async function renderTemplate(name: string, source: string, view: object): Promise<string> {
  try {
    const entry = precompiled[name];
    const template: Template =
      entry?.source === source ? runtime.template(entry.spec) : (await withCompiler()).compile(source, COMPILE_OPTIONS);
    return template(view);
  } catch (error) {
    throw new Error(`template ${name}: ${(error as Error).message}`);
  }
}
