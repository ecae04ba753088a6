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
  banner: {
    // Bundled CommonJS dependencies still call require().
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
