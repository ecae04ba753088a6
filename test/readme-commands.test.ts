// The README's own commands for developing this repository set up what they need: from a fresh
// clone, `npm run test:all` and `npm run bench` make Celery's virtualenv themselves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './support/process.ts';

const scripts = async () =>
  (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const steps = (script = '') => script.split('&&').map((step) => step.trim());

describe("the README's commands", () => {
  it('npm run test:all makes the Celery the interop tests need before it runs them, and stops if it cannot', async () => {
    const all = steps((await scripts())['test:all']);
    const venv = all.indexOf('.ci/celery-venv > /dev/null');
    expect(venv).toBeGreaterThanOrEqual(0);
    expect(venv).toBeLessThan(all.findIndex((step) => step.startsWith('vitest run')));
  });

  it('npm run bench makes it too, and goes on without it (the Celery section alone fails)', async () => {
    const bench = steps((await scripts()).bench);
    const venv = bench.indexOf('(.ci/celery-venv > /dev/null || true)');
    expect(venv).toBeGreaterThanOrEqual(0);
    expect(venv).toBeLessThan(bench.indexOf('node bench/run.ts'));
  });
});
