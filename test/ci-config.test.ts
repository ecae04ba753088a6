// This repository's own GitLab CI file: valid against GitLab's published schema, and every npm
// script it runs exists.
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import packageJson from '../package.json' with { type: 'json' };

const read = async (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

describe('.gitlab-ci.yml', () => {
  it("validates against GitLab's CI schema", async () => {
    const schema = JSON.parse(await read('./fixtures/gitlab-ci.schema.json'));
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const config = parse(await read('../.gitlab-ci.yml'));
    expect(validate(config), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema can fail: a job with an unknown keyword is rejected.
    expect(validate({ ...config, lint: { ...config.lint, scripts: 'typo' } })).toBe(false);
  });

  it('runs only npm scripts that exist, lint, typecheck and test among them', async () => {
    const text = await read('../.gitlab-ci.yml');
    const used = [...text.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1]);
    expect(used).toEqual(expect.arrayContaining(['lint', 'typecheck', 'build']));
    for (const script of used) expect(Object.keys(packageJson.scripts)).toContain(script);
    expect(text).toContain('npm test');
    expect(text).toContain('image: node:24');
  });
});
