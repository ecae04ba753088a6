// The versions an upgrade renders with. Each version renders with its own code and templates: the
// running CLI with itself, any other from its package (the worker's node_modules, --base, or the
// npm registry). What a package must keep exporting for this, from 0.1.0 on: renderWorker(spec)
// and validateSpec(answers) from its main entry, and CHANGELOG.md beside its package.json.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { EnvironmentError, UserError } from '../errors.ts';
import { renderWorker } from '../render.ts';
import { validateSpec } from '../spec.ts';
import type { VirtualTree } from '../tree.ts';
import { CLI_VERSION } from '../version.ts';

export const PACKAGE = 'create-be-worker';

export interface Generator {
  version: string;
  /** Where it came from, said to the user. */
  source: string;
  render(answers: unknown): Promise<VirtualTree>;
  /** Its CHANGELOG.md, if it ships one. */
  changelog(): Promise<string | undefined>;
}

interface PackageModule {
  renderWorker(spec: unknown): Promise<VirtualTree>;
  validateSpec(input: unknown): unknown;
}

/** The running CLI. */
export function thisVersion(): Generator {
  return {
    version: CLI_VERSION,
    source: 'this be-worker',
    render: (answers) => renderWorker(validateSpec(answers)),
    changelog: async () => readOptional(join(await ownPackageDir(), 'CHANGELOG.md')),
  };
}

/** A create-be-worker package directory (with its dist/ built), loaded. */
export async function loadPackage(dir: string, source: string): Promise<Generator> {
  const manifest = await readOptional(join(dir, 'package.json'));
  const pkg = JSON.parse(manifest ?? '{}') as { name?: string; version?: string; exports?: unknown; main?: string };
  if (pkg.name !== PACKAGE || !pkg.version) throw new UserError(`${dir} is not a ${PACKAGE} package`);
  const entry = mainEntry(pkg);
  const module = (await import(pathToFileURL(join(dir, entry)).href).catch((error: Error) => {
    throw new UserError(`cannot load ${PACKAGE} ${pkg.version} from ${dir} (${error.message}); is it built?`);
  })) as Partial<PackageModule>;
  const { renderWorker: render, validateSpec: validate } = module;
  if (typeof render !== 'function' || typeof validate !== 'function') {
    throw new UserError(`${PACKAGE} ${pkg.version} in ${dir} does not export renderWorker and validateSpec`);
  }
  return {
    version: pkg.version,
    source,
    render: (answers) => render(validate(answers)),
    changelog: () => readOptional(join(dir, 'CHANGELOG.md')),
  };
}

export interface FetchOptions {
  /** An empty folder for npm to install into. */
  prefix: string;
  signal?: AbortSignal;
  /** Told before a fetch, which takes a while. */
  onStep?: (message: string) => void;
}

/**
 * Installs `spec` (a version, a tag, or a tarball's path) into `prefix` with npm, which honours
 * npm_config_registry and the user's .npmrc; returns the package's directory.
 */
export async function fetchPackage(spec: string, { prefix, signal, onStep }: FetchOptions): Promise<string> {
  onStep?.(`Fetching ${spec} from ${registryName()}`);
  const args = ['install', '--prefix', prefix, '--ignore-scripts', '--no-package-lock', '--no-audit', '--no-fund'];
  const result = await execa('npm', [...args, spec], {
    reject: false,
    all: true,
    stdin: 'ignore',
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.failed) {
    const output = (result.all ?? '').trim().split('\n').slice(-8).join('\n');
    throw new EnvironmentError(
      `could not fetch ${spec} from ${registryName()}:\n${output}\nWithout a registry, pass --base <tarball|dir> for the version the worker was made with.`,
    );
  }
  return join(prefix, 'node_modules', PACKAGE);
}

/** The version a worker was made with: from --base, this CLI, the worker's node_modules, or fetched. */
export async function recordedVersion(
  root: string,
  version: string,
  { base, ...fetch }: FetchOptions & { base?: string },
): Promise<Generator> {
  if (base !== undefined) {
    const path = resolve(base);
    const isDir = await stat(path).then(
      (info) => info.isDirectory(),
      () => {
        throw new UserError(`--base ${base}: no such file or folder`);
      },
    );
    const generator = await loadPackage(isDir ? path : await fetchPackage(path, fetch), `--base ${base}`);
    if (generator.version !== version) {
      throw new UserError(
        `--base ${base} is ${PACKAGE} ${generator.version}, but this worker was made with ${version}; pass that version's package`,
      );
    }
    return generator;
  }
  if (version === CLI_VERSION) return thisVersion();
  const installed = join(root, 'node_modules', PACKAGE);
  const manifest = await readOptional(join(installed, 'package.json'));
  if (manifest !== undefined && (JSON.parse(manifest) as { version?: string }).version === version) {
    return loadPackage(installed, `node_modules/${PACKAGE}`);
  }
  return loadPackage(await fetchPackage(`${PACKAGE}@${version}`, fetch), registryName());
}

/** The version to upgrade to: this one, or `to` (a version or a tag such as latest) from the registry. */
export async function targetVersion(to: string | undefined, fetch: FetchOptions): Promise<Generator> {
  if (to === undefined || to === CLI_VERSION) return thisVersion();
  return loadPackage(await fetchPackage(`${PACKAGE}@${to}`, fetch), registryName());
}

function registryName(): string {
  const url = process.env.npm_config_registry;
  return url ? `the npm registry at ${url}` : 'the npm registry';
}

/** This package's folder: the nearest package.json up from this module (in src/ or in the bundle). */
async function ownPackageDir(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  while ((await readOptional(join(dir, 'package.json'))) === undefined && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function mainEntry(pkg: { exports?: unknown; main?: string }): string {
  const root = (pkg.exports as Record<string, unknown> | undefined)?.['.'] ?? pkg.exports;
  if (typeof root === 'string') return root;
  const conditions = root as { import?: string; default?: string } | undefined;
  return conditions?.import ?? conditions?.default ?? pkg.main ?? 'index.js';
}

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch(() => undefined);
}
