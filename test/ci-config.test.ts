// This repository's own GitLab CI file: valid against GitLab's published schema, and every npm
// script it runs exists.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import packageJson from '../package.json' with { type: 'json' };
import { ciCommands, gitlabCiSchema, scriptsRun } from './support/ship-checks.ts';

const config = parse(await readFile(new URL('../.gitlab-ci.yml', import.meta.url), 'utf8'));

describe('.gitlab-ci.yml', () => {
  it("validates against GitLab's CI schema", async () => {
    const validate = await gitlabCiSchema();
    expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema can fail: a job with an unknown keyword is rejected.
    expect(validate({ ...config, lint: { ...config.lint, scripts: 'typo' } })).toBe(false);
  });

  it('runs only npm scripts that exist, lint, typecheck, build and test among them', () => {
    const used = scriptsRun(ciCommands(config));
    expect(used).toEqual(expect.arrayContaining(['lint', 'typecheck', 'build', 'test']));
    for (const script of used) expect(Object.keys(packageJson.scripts)).toContain(script);
    expect(config.default.image).toBe('node:24');
  });

  it('installs what .ci/run installs: its Debian packages (the node image has git, python3, make and g++) and moto', async () => {
    const run = await readFile(new URL('../.ci/run', import.meta.url), 'utf8');
    const list = (name: string) => new RegExp(`^${name}=\\((.*)\\)$`, 'm').exec(run)?.[1]?.split(/\s+/) ?? [];
    const needed = [...list('packages'), ...list('module_packages')].filter(
      (name) => !['git', 'python3', 'make', 'g++'].includes(name),
    );
    expect(needed).toContain('kubernetes-client');
    const script: string = config.test.script.join('\n');
    const installed = /apt-get install ([^>\n]*)/.exec(script)?.[1]?.split(/\s+/) ?? [];
    expect(installed).toEqual(expect.arrayContaining(needed));
    expect(script).toContain("pip install -q 'moto[server]");
  });

  it('tests on a clone with the whole history, which the release check and the upgrade-from-history tests read', () => {
    expect(config.test.variables.GIT_DEPTH).toBe('0');
  });
});
