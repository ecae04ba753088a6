// be-worker add-integration: integrations added to an existing worker. The worker is rendered twice
// by the version that made it (src/upgrade/packages.ts), with its answers and with the integrations
// added, and the difference is merged three-way onto the files as they are (upgrade's per-file
// rules, src/upgrade/plan.ts): the team's edits are kept, overlaps are marked as conflicts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIfExists } from './changes.ts';
import { UserError } from './errors.ts';
import { INTEGRATION_NAMES, type IntegrationName } from './integrations/index.ts';
import type { WorkerRepo } from './repo.ts';
import { quoted } from './spec.ts';
import { recordedGenerator } from './upgrade/index.ts';
import { PACKAGE } from './upgrade/packages.ts';
import { type FilesPlan, planFiles } from './upgrade/plan.ts';

export interface AddIntegrationOptions {
  /** The package (folder or tarball) the worker was made with, when it is not at hand (as upgrade's --base). */
  base?: string;
  signal?: AbortSignal;
  onStep?: (message: string) => void;
}

export interface AddIntegrationPlan extends FilesPlan {
  /** The integrations added, in the order create-be-worker lists them. */
  added: IntegrationName[];
  /** The version both renders were made with. */
  version: string;
}

/** Checks the names (known, not yet in the worker); returns them in create-be-worker's order. */
export function integrationsToAdd(names: readonly string[], present: readonly string[]): IntegrationName[] {
  const known: readonly string[] = INTEGRATION_NAMES;
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new UserError(
      `no integration ${unknown.map((name) => quoted(name)).join(', ')}; there are ${INTEGRATION_NAMES.join(', ')}`,
    );
  }
  const already = names.filter((name) => present.includes(name));
  if (already.length > 0) {
    throw new UserError(
      `this worker has ${already.join(', ')} already (be-worker.json's integrations: ${present.join(', ')}); nothing was changed`,
    );
  }
  return INTEGRATION_NAMES.filter((name) => names.includes(name));
}

export async function planAddIntegration(
  repo: WorkerRepo,
  names: readonly string[],
  options: AddIntegrationOptions = {},
): Promise<AddIntegrationPlan> {
  const spec = repo.answers.answers;
  const added = integrationsToAdd(names, spec.integrations);
  const integrations = INTEGRATION_NAMES.filter((name) => spec.integrations.includes(name) || added.includes(name));
  const prefix = await mkdtemp(join(tmpdir(), 'be-worker-add-integration-'));
  try {
    const generator = await recordedGenerator(repo, { ...options, prefix });
    const [base, theirs] = await Promise.all([
      generator.render(spec),
      generator.render({ ...spec, integrations }).catch((error: Error) => {
        // An older version may not have the integration: its own validation says so.
        throw new UserError(
          `${PACKAGE} ${generator.version}, which made this worker, cannot add ${added.join(', ')} (${error.message}); run be-worker upgrade first, then add it`,
        );
      }),
    ]);
    const plan = await planFiles(base, theirs, (path) => readIfExists(repo.root, path), {
      labels: { ours: 'yours', base: 'as rendered', theirs: `with ${added.join(', ')}` },
      version: generator.version,
    });
    return { ...plan, added, version: generator.version };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}
