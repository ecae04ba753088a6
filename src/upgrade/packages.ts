// The versions an upgrade renders with. Each version renders with its own code and templates: the
// running CLI with itself, any other from its package (the worker's node_modules, --base, or the
// npm registry). What a package must keep exporting for this, from 0.1.0 on: renderWorker(spec)
// and validateSpec(answers) from its main entry, and CHANGELOG.md beside its package.json.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { EnvironmentError, UserError } from '../errors.ts';
import { type TemplatesIdentity, templatesOf } from '../identity.ts';
import { renderWorker } from '../render.ts';
import { validateSpec } from '../spec.ts';
import type { VirtualTree } from '../tree.ts';
import { CLI_VERSION } from '../version.ts';

export const PACKAGE = 'create-be-worker';

export interface Generator {
  version: string;
  /** Where it came from, said to the user. */
  source: string;
  /** The templates it renders from: two builds of one version may differ. */
  templates: TemplatesIdentity;
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
    templates: templatesOf(),
    render: (answers) => renderWorker(validateSpec(answers)),
    changelog: async () => readOptional(join(await ownPackageDir(), 'CHANGELOG.md')),
  };
}

/** A create-be-worker package directory, or a clone, with its dist/ built, loaded. */
export async function loadPackage(dir: string, source: string): Promise<Generator> {
  const manifest = await readOptional(join(dir, 'package.json'));
  const pkg = JSON.parse(manifest ?? '{}') as { name?: string; version?: string; exports?: unknown; main?: string };
  if (pkg.name !== PACKAGE || !pkg.version) throw new UserError(`${dir} is not a ${PACKAGE} package`);
  const entry = mainEntry(pkg);
  const module = (await import(pathToFileURL(join(dir, entry)).href).catch((error: Error) => {
    throw new UserError(
      `cannot load ${PACKAGE} ${pkg.version} from ${dir} (${error.message}); is it built? (in a clone: npm ci && npm run build)`,
    );
  })) as Partial<PackageModule>;
  const { renderWorker: render, validateSpec: validate } = module;
  if (typeof render !== 'function' || typeof validate !== 'function') {
    throw new UserError(`${PACKAGE} ${pkg.version} in ${dir} does not export renderWorker and validateSpec`);
  }
  return {
    version: pkg.version,
    source,
    templates: templatesOf(dir),
    render: (answers) => render(validate(answers)),
    changelog: () => readOptional(join(dir, 'CHANGELOG.md')),
  };
}

export interface FetchOptions {
  /** An empty folder for npm to install into. */
  prefix: string;
  /** The worker, whose .npmrc names the registry it installs from. */
  root: string;
  signal?: AbortSignal;
  /** Told before a fetch, which takes a while. */
  onStep?: (message: string) => void;
}

/** What else to do when the registry has not got the package: the end of the error's sentence. */
const OTHERWISE = {
  target:
    "leave out --to to upgrade to this be-worker's version (--base <tarball|dir> gives the version the worker was made with)",
  recorded: (version: string) =>
    `pass --base <tarball|dir>, the package (or built clone) of ${PACKAGE} ${version} the worker was made with`,
};

/**
 * Installs `spec` (a version, a tag, or a tarball's path) into `prefix` with npm, which honours
 * npm_config_registry and the user's .npmrc; returns the package's directory.
 */
export async function fetchPackage(
  spec: string,
  { prefix, root, signal, onStep }: FetchOptions,
  otherwise: string,
): Promise<{ dir: string; registry: string }> {
  const url = await registryOf(root);
  const registry = registryName(url);
  onStep?.(`Fetching ${spec} from ${registry}`);
  // npm reads a project's .npmrc from its --prefix, not the worker: the worker's registry is passed on.
  const args = ['install', '--prefix', prefix, '--ignore-scripts', '--no-package-lock', '--no-audit', '--no-fund'];
  if (url) args.push('--registry', url);
  const result = await execa('npm', [...args, spec], {
    reject: false,
    all: true,
    stdin: 'ignore',
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (result.failed) {
    // npm's own block is many lines; its error code says which of two things went wrong.
    const output = result.all ?? '';
    const code = /npm error code (\S+)/.exec(output)?.[1];
    if (code === 'E404') {
      throw new EnvironmentError(
        `${registry} has no ${spec} (404): set npm_config_registry to the registry ${PACKAGE} is published to, or ${otherwise}.`,
      );
    }
    const reason = code ?? output.trim().split('\n').at(-1) ?? `exit ${result.exitCode}`;
    throw new EnvironmentError(
      `could not fetch ${spec} from ${registry} (${reason}): check this machine's network and npm_config_registry, or ${otherwise}.`,
    );
  }
  return { dir: join(prefix, 'node_modules', PACKAGE), registry };
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
    const generator = await loadPackage(
      isDir ? path : (await fetchPackage(path, fetch, 'pass --base a folder or a tarball that is there')).dir,
      `--base ${base}`,
    );
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
  const { dir, registry } = await fetchPackage(`${PACKAGE}@${version}`, fetch, OTHERWISE.recorded(version));
  return loadPackage(dir, registry);
}

/** The version to upgrade to: this one, or `to` (a version or a tag such as latest) from the registry. */
export async function targetVersion(to: string | undefined, fetch: FetchOptions): Promise<Generator> {
  if (to === undefined || to === CLI_VERSION) return thisVersion();
  const { dir, registry } = await fetchPackage(`${PACKAGE}@${to}`, fetch, OTHERWISE.target);
  return loadPackage(dir, registry);
}

/** The registry npm asks in the worker, as its configuration says (npm_config_registry, the worker's .npmrc, the user's). */
async function registryOf(root: string): Promise<string | undefined> {
  const { stdout } = await execa('npm', ['config', 'get', 'registry'], { cwd: root, reject: false, stdin: 'ignore' });
  return stdout.trim() || process.env.npm_config_registry || undefined;
}

function registryName(url: string | undefined): string {
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
