// Static checks of the files that ship a worker, with the real schemas (vendored in
// test/fixtures, see its README): GitLab CI and the Compose specification.
import { readFile } from 'node:fs/promises';
import { Ajv, type ValidateFunction } from 'ajv';

const fixture = async (name: string) =>
  JSON.parse(await readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

async function validator(name: string): Promise<ValidateFunction> {
  // Both are draft-07; Compose names it by an https URL Ajv does not know, which changes nothing.
  const { $schema: _, ...schema } = await fixture(name);
  return new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

export const gitlabCiSchema = () => validator('gitlab-ci.schema.json');
export const composeSchema = () => validator('compose-spec.schema.json');

type Job = { script?: unknown; before_script?: unknown; after_script?: unknown };

/** Every command line a GitLab CI file runs, in all jobs and in `default`. */
export function ciCommands(config: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const value of Object.values(config)) {
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const job = value as Job;
    for (const part of [job.before_script, job.script, job.after_script]) {
      if (part !== undefined) lines.push(...[part].flat(2).map(String));
    }
  }
  return lines;
}

/** The package.json scripts those lines run: `npm run x`, `npm test`, `pnpm x` (not `pnpm exec bin`). */
export function scriptsRun(lines: readonly string[]): string[] {
  const names = new Set<string>();
  for (const line of lines) {
    for (const [, name] of line.matchAll(/\bnpm run ([\w:-]+)/g)) names.add(name as string);
    for (const [, name] of line.matchAll(/\bnpm (test|start)\b/g)) names.add(name as string);
    for (const [, name] of line.matchAll(/\bpnpm (?!install\b|exec\b)([\w:-]+)/g)) names.add(name as string);
  }
  return [...names];
}
