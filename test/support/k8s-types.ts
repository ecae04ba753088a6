// The check kubernetes-models' schema validators cannot make: they accept fields no schema names, so
// a misspelt `terminationGracePeriodSecond` would pass, and the API server would drop it silently.
// The packages' TypeScript types are the same schemas, and closed: each manifest becomes an object
// literal that must `satisfies` its kind's type, and TypeScript refuses, at any depth, a property the
// type does not name or a value of the wrong type (the first it finds in each manifest).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './process.ts';

/** Each kind deploy/k8s/ renders, and its type. */
const TYPES: Record<string, string> = {
  'apps/v1 Deployment': "import('kubernetes-models/apps/v1').IDeployment",
  'v1 ServiceAccount': "import('kubernetes-models/v1').IServiceAccount",
  'v1 Service': "import('kubernetes-models/v1').IService",
  'policy/v1 PodDisruptionBudget': "import('kubernetes-models/policy/v1').IPodDisruptionBudget",
  'keda.sh/v1alpha1 ScaledObject': "import('@kubernetes-models/keda/keda.sh/v1alpha1').IScaledObject",
  'keda.sh/v1alpha1 TriggerAuthentication': "import('@kubernetes-models/keda/keda.sh/v1alpha1').ITriggerAuthentication",
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}

/** What TypeScript refuses in each manifest, as `<kind> <name>: <message>`; empty when all conform. */
export async function manifestTypeErrors(manifests: readonly Manifest[]): Promise<string[]> {
  const label = (manifest: Manifest) => `${manifest.kind} ${manifest.metadata?.name ?? '(no name)'}`;
  const untyped = manifests.filter((manifest) => !TYPES[`${manifest.apiVersion} ${manifest.kind}`]);
  if (untyped.length > 0) return untyped.map((manifest) => `${label(manifest)}: no type for ${manifest.apiVersion}`);
  // Inside the repository, so that the packages resolve from its node_modules.
  const cache = join(REPO, 'node_modules/.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'k8s-types-'));
  try {
    const file = join(dir, 'manifests.ts');
    // One manifest per line: an error's line number names its manifest.
    const lines = manifests.map(
      (manifest, index) =>
        `export const m${index} = ${JSON.stringify(manifest)} satisfies ${TYPES[`${manifest.apiVersion} ${manifest.kind}`]};`,
    );
    await writeFile(file, `${lines.join('\n')}\n`);
    const checked = await execa(
      join(REPO, 'node_modules/.bin/tsc'),
      [
        '--ignoreConfig',
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--pretty',
        'false',
        file,
      ],
      { cwd: dir, reject: false, all: true },
    );
    if (checked.exitCode === 0) return [];
    const errors = String(checked.all)
      .split('\n')
      .map((line) => /manifests\.ts\((\d+),\d+\): error TS\d+: (.*)$/.exec(line))
      .filter((match) => match !== null)
      .map(([, line, message]) => `${label(manifests[Number(line) - 1] as Manifest)}: ${message}`);
    // tsc failed for a reason of its own (not installed, a bad flag): say what it printed.
    return errors.length > 0 ? errors : [`tsc failed: ${checked.all}`];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
