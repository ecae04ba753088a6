// CLI start-up (--help) and generation, against create-vite and bare node, alternated, medians.
// create-be-worker runs as users get it, packed and installed (run from a clone, it would also pack
// itself into each worker's vendor/), as create-vite runs from node_modules.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, round, wallTime } from './stats.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CREATE_VITE = join(REPO, 'node_modules', 'create-vite', 'index.js');

export async function benchCli(runs: number) {
  const prefix = await mkdtemp(join(tmpdir(), 'cbw-bench-cli-'));
  const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  const [{ filename }] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', prefix], REPO));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(prefix, filename)], prefix);
  const CREATE_BE_WORKER = join(prefix, 'node_modules', 'create-be-worker', 'bin', 'create-be-worker.js');
  const startup = alternate(
    {
      'create-be-worker --help': () => wallTime(process.execPath, [CREATE_BE_WORKER, '--help']),
      'create-vite --help': () => wallTime(process.execPath, [CREATE_VITE, '--help']),
      'node -e 0': () => wallTime(process.execPath, ['-e', '0']),
    },
    runs,
  );
  const parent = await mkdtemp(join(tmpdir(), 'cbw-bench-gen-'));
  const generation = alternate(
    {
      'create-be-worker --all --no-install --no-git': (run) =>
        wallTime(
          process.execPath,
          [CREATE_BE_WORKER, `worker-${run}`, '--all', '--no-install', '--no-git', '--yes', '--user', 'bench'],
          parent,
        ),
      'create-vite --template vanilla-ts': (run) =>
        wallTime(
          process.execPath,
          [CREATE_VITE, `vite-${run}`, '--template', 'vanilla-ts', '--no-immediate', '--no-interactive'],
          parent,
        ),
    },
    runs,
  );
  await rm(parent, { recursive: true, force: true });
  await rm(prefix, { recursive: true, force: true });
  return {
    runs,
    startupMs: mapValues(startup, round),
    generationMs: mapValues(generation, round),
    startupRatio: round((startup['create-be-worker --help'] ?? 0) / (startup['create-vite --help'] ?? 1)),
    generationRatio: round(
      (generation['create-be-worker --all --no-install --no-git'] ?? 0) /
        (generation['create-vite --template vanilla-ts'] ?? 1),
    ),
  };
}

const mapValues = (record: Record<string, number>, map: (value: number) => number) =>
  Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
