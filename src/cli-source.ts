// Where a generated worker gets its create-be-worker, so that its npm ci, its CI and its Docker build
// install it as it was made: the npm registry this CLI came from (remembered in the worker's .npmrc
// when it is not the public one), or, for a CLI run from a clone (before create-be-worker is on a
// registry the team's CI reaches), the clone packed into the worker's vendor/ folder.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CancelledError, EnvironmentError, UserError } from './errors.ts';
import { DIGEST_FILE, templatesDigest } from './identity.ts';
import { CLI_ROOT, CLI_VERSION, runsFromClone } from './version.ts';

const PUBLIC_REGISTRY = 'https://registry.npmjs.org/';

/** The registry npm was told to use (npm and npx pass it on as npm_config_registry), unless it is the public one. */
export function registryToRemember(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.npm_config_registry?.trim();
  if (!configured) return undefined;
  const url = configured.endsWith('/') ? configured : `${configured}/`;
  return url === PUBLIC_REGISTRY ? undefined : url;
}

/** Where a worker keeps the vendored CLI of `version`. */
export function vendoredCliPath(version: string = CLI_VERSION): string {
  return `vendor/create-be-worker-${version}.tgz`;
}

/**
 * The devDependency a generated worker pins this CLI with, so `npm run be-worker` in it runs this very
 * version (and `be-worker upgrade` finds it): the exact version from the registry, or, from a clone,
 * the tarball vendored beside it (which npm and pnpm both install from a relative file: path).
 */
export function cliDependency(root: string = CLI_ROOT): string {
  return runsFromClone(root) ? `file:${vendoredCliPath()}` : CLI_VERSION;
}

/** The worker path of the vendored tarball a pin points at, or undefined for a version. */
export function vendoredPathOf(pin: unknown): string | undefined {
  return typeof pin === 'string' && pin.startsWith('file:vendor/') && pin.endsWith('.tgz')
    ? pin.slice('file:'.length)
    : undefined;
}

/**
 * The vendored files a worker made now gets: none when this CLI came from a registry; from a clone,
 * the clone packed as npm would publish it (its built dist/ and its templates, as this run uses them).
 */
export async function vendoredFiles(signal?: AbortSignal, root: string = CLI_ROOT): Promise<Map<string, Uint8Array>> {
  if (!runsFromClone(root)) return new Map();
  // A build older than the templates would pack one version's renderer with another's templates.
  const built = await readFile(join(root, 'dist', DIGEST_FILE), 'utf8').catch(() => '');
  if (built.trim() !== templatesDigest(join(root, 'templates'))) {
    throw new UserError(
      `the clone's build is older than its templates (or missing): run npm run build in ${root}, then run this again`,
    );
  }
  const destination = await mkdtemp(join(tmpdir(), 'create-be-worker-pack-'));
  try {
    // Built already (this run is the build): no prepack, which would build again.
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      ...(signal ? { cancelSignal: signal } : {}),
    });
    if (packed.isCanceled) throw new CancelledError();
    if (packed.failed) {
      throw new EnvironmentError(
        `could not pack this clone for the worker's vendor/ (npm pack: ${packed.stderr.trim().split('\n').at(-1) || packed.shortMessage}); run npm pack in ${root} to see why`,
      );
    }
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    return new Map([[vendoredCliPath(), await readFile(join(destination, filename))]]);
  } finally {
    await rm(destination, { recursive: true, force: true });
  }
}
