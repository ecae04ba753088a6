import { sep } from 'node:path';
import { defineConfig, type Options } from 'tsup';

/** The front of create-be-worker: its flags, built apart; the run it imports is in the ESM build. */
const FRONT = 'create-be-worker.cjs';

const shared: Options = {
  platform: 'node',
  target: 'node22',
  noExternal: [/.*/],
  esbuildPlugins: [
    {
      // zod bundles the translations of its messages into 60 languages (a third of its size); the
      // CLI speaks English, which zod imports on its own (zod/v4/classic/schemas.js).
      name: 'zod-without-translations',
      setup(build) {
        build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
          importer.includes(`${sep}zod${sep}`) ? { path: 'zod-locales', namespace: 'empty' } : undefined,
        );
        build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};' }));
      },
    },
  ],
};

export default defineConfig([
  // One self-contained set of files per bin, so `npx create-be-worker` resolves no dependency at start-up.
  {
    ...shared,
    entry: {
      'create-run': 'src/cli/create-run.ts',
      'be-worker': 'src/cli/be-worker.ts',
      index: 'src/index.ts',
    },
    format: 'esm',
    splitting: true,
    // Cleaned but for the front, which the other build writes at the same time.
    clean: [`!${FRONT}`],
    // Precompiled templates, so a run does not load Handlebars' compiler (src/templates.ts); and
    // the page of `be-worker ui`, served from dist/ui.
    onSuccess: 'node scripts/precompile-templates.ts && node scripts/copy-ui-page.ts',
    banner: {
      // Bundled CommonJS dependencies still call require().
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  },
  {
    // `create-be-worker --help` loads this one file: CommonJS, because Node.js loads a CommonJS file
    // and the built-in modules it requires faster than ES modules (~10 ms less for --help).
    ...shared,
    entry: { 'create-be-worker': 'src/cli/create-be-worker.ts' },
    format: 'cjs',
    outExtension: () => ({ js: '.cjs' }),
    shims: true,
    // Keeps `node:` in the built-ins' names, which child-process-on-use below looks for.
    removeNodeProtocol: false,
    esbuildPlugins: [
      ...(shared.esbuildPlugins ?? []),
      {
        name: 'run-from-the-esm-build',
        setup(build) {
          build.onResolve({ filter: /^\.\/create-run\.ts$/ }, () => ({ path: './create-run.js', external: true }));
        },
      },
      {
        // commander spawns only executable subcommands, which create-be-worker has none of; loading
        // node:child_process (and net, streams…) for it would cost --help ~3 ms.
        name: 'child-process-on-use',
        setup(build) {
          build.onResolve({ filter: /^node:child_process$/ }, ({ importer }) =>
            importer.includes(`${sep}commander${sep}`) ? { path: 'child-process', namespace: 'on-use' } : undefined,
          );
          build.onLoad({ filter: /.*/, namespace: 'on-use' }, () => ({
            contents: "module.exports = { spawn: (...args) => require('node:child_process').spawn(...args) };",
          }));
        },
      },
    ],
  },
]);
