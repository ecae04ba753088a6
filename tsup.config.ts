import { sep } from 'node:path';
import { defineConfig } from 'tsup';

// One self-contained file per bin, so `npx create-be-worker` resolves no dependency at start-up.
export default defineConfig({
  entry: {
    'create-be-worker': 'src/cli/create-be-worker.ts',
    'be-worker': 'src/cli/be-worker.ts',
    index: 'src/index.ts',
  },
  format: 'esm',
  platform: 'node',
  target: 'node22',
  noExternal: [/.*/],
  splitting: true,
  clean: true,
  // Precompiled templates, so a run does not load Handlebars' compiler (src/templates.ts).
  onSuccess: 'node scripts/precompile-templates.ts',
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
  banner: {
    // Bundled CommonJS dependencies still call require().
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
