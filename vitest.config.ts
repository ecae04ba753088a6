import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // End-to-end tests install and run generated workers: they set their own, longer, timeouts.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
