// Templates are precompiled at build: the built CLI must use them (none stale or missing) and
// write exactly what the source renders by compiling them.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { renderWorker } from '../src/render.ts';
import { validateSpec } from '../src/spec.ts';
import { PRECOMPILED_FILE, type PrecompiledTemplates } from '../src/templates.ts';
import { CLI, REPO, tempDir } from './support/process.ts';

const TEMPLATES = join(REPO, 'templates');

describe('precompiled templates', () => {
  it('cover every template of templates/, as it is now', async () => {
    const { default: precompiled } = (await import(join(REPO, 'dist', PRECOMPILED_FILE))) as {
      default: PrecompiledTemplates;
    };
    const sources = (await readdir(TEMPLATES, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile() && entry.name.endsWith('.hbs'))
      .map((entry) => relative(TEMPLATES, join(entry.parentPath, entry.name)).split(sep).join('/'));
    expect(Object.keys(precompiled).sort()).toEqual(sources.sort());
    for (const name of sources) {
      expect(precompiled[name]?.source, name).toBe(await readFile(join(TEMPLATES, name), 'utf8'));
    }
  });

  it('make the built CLI write exactly what the source renders', async () => {
    const cwd = await tempDir();
    const flags = ['--all', '--queue', 'shop-add:add', '--queue', 'resize:resize:images', '--user', 'ann'];
    await execa('node', [CLI, 'shop', ...flags, '--region', 'eu-west-1', '--no-install', '--no-git'], {
      cwd,
      env: { CI: 'true', npm_config_user_agent: '' },
    });
    const written = JSON.parse(await readFile(join(cwd, 'shop', 'be-worker.json'), 'utf8')).answers;
    const tree = await renderWorker(validateSpec(written));
    for (const [path, contents] of tree) {
      expect(await readFile(join(cwd, 'shop', path), 'utf8'), path).toBe(contents);
    }
  });
});
