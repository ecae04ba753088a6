// Finding and reading the generated worker that `be-worker` runs in, by its answers file.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from './errors.ts';
import { ANSWERS_FILE } from './render.ts';
import { specSchema } from './spec.ts';

const answersFileSchema = z.object({
  cliVersion: z.string(),
  templateVersion: z.string(),
  /** What it was rendered from (src/identity.ts); workers made before it was recorded lack it. */
  templates: z.object({ sha256: z.string(), commit: z.string().optional() }).optional(),
  answers: specSchema,
});
export type AnswersFile = z.output<typeof answersFileSchema>;

export interface WorkerRepo {
  root: string;
  answers: AnswersFile;
}

/** The worker repository containing `from`: the nearest directory up with a be-worker.json. */
export async function findWorkerRepo(from: string): Promise<WorkerRepo> {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const path = join(dir, ANSWERS_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      if (dirname(dir) === dir) break;
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new UserError(`${path} is not valid JSON (${(error as Error).message}); restore it from git`);
    }
    const parsed = answersFileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UserError(`${path}: ${issue?.path.join('.')}: ${issue?.message}; restore it from git`);
    }
    return { root: dir, answers: parsed.data };
  }
  throw new UserError(
    `no ${ANSWERS_FILE} in ${resolve(from)} or any folder above it: run be-worker inside a worker made by create-be-worker`,
  );
}
