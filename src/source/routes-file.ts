// src/config/routes.ts: where the fleet's other tasks run (Celery's task_routes), read on its syntax
// tree. The worker sends canvas steps (links, chains, link_errors) to these queues.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskRoutes } from '../../templates/worker/src/runtime/canvas.ts';
import { UserError } from '../errors.ts';
import { exportedObject, parseModule } from './parse.ts';

export const ROUTES_FILE = 'src/config/routes.ts';

/** Task name (or pattern) → short queue name, as the file writes them. */
export function readRoutes(source: string): TaskRoutes {
  const routes: Record<string, string> = {};
  for (const property of exportedObject(parseModule(source, ROUTES_FILE), 'taskRoutes', ROUTES_FILE).properties) {
    const key =
      property.type === 'ObjectProperty' && !property.computed
        ? property.key.type === 'StringLiteral'
          ? property.key.value
          : property.key.type === 'Identifier'
            ? property.key.name
            : undefined
        : undefined;
    if (key === undefined || property.type !== 'ObjectProperty' || property.value.type !== 'StringLiteral') {
      throw new UserError(
        `${ROUTES_FILE}: taskRoutes has an entry that is not 'task': 'queue' (two string literals); be-worker reads only those`,
      );
    }
    routes[key] = property.value.value;
  }
  return routes;
}

/** The routes of the worker at `root`; none when it has no routes.ts (workers made before it). */
export async function readRoutesFile(root: string): Promise<TaskRoutes> {
  const source = await readFile(join(root, ROUTES_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return source === undefined ? {} : readRoutes(source);
}
