// npm 11 warns at every install about dependencies whose install scripts package.json's
// allowScripts does not cover (npm 12 skips those scripts): this repository and the worker it
// generates declare theirs, so `npm ci` is quiet and stays working.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { REPO } from '../support/process.ts';

/** `esbuild@0.28.2` → `esbuild`, `@scope/name@1.0.0` → `@scope/name`. */
const nameOf = (key: string) => key.slice(0, key.lastIndexOf('@'));

/** The dependencies with install scripts that allowScripts does not cover, as npm lists them. */
async function pending(cwd: string): Promise<string[]> {
  const { stdout } = await execa('npm', ['install-scripts', 'ls', '--json'], { cwd, stdin: 'ignore' });
  const { allowScripts = [] } = JSON.parse(stdout || '{}') as {
    allowScripts?: { name: string; changes: { key: string; change: string }[] }[];
  };
  return allowScripts.flatMap(({ changes }) =>
    changes.filter(({ change }) => change === 'pending').map(({ key }) => key),
  );
}

describe('install scripts', () => {
  it('of this repository (esbuild, node-pty) are declared in allowScripts', async () => {
    expect(await pending(REPO)).toEqual([]);
  });

  it('of a generated worker with every integration: none of its own dependencies has one undeclared', async () => {
    // Made from this clone, the worker links it (file:), and npm lists the clone's own packages
    // too; those are installed in the clone, not by the worker's install.
    const worker = inject('allOnWorker');
    const own = (await pending(worker)).filter((key) => existsSync(join(worker, 'node_modules', nameOf(key))));
    expect(own).toEqual([]);
  });
});
