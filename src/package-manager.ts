// The package managers a generated worker can use, the commands each one needs, and whether the
// chosen one is there.
import { EnvironmentError } from './errors.ts';
import { onPath } from './on-path.ts';

export const PACKAGE_MANAGERS = ['npm', 'pnpm'] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

export interface PackageManagerCommands {
  name: PackageManager;
  install: string[];
  /** Prefix for package.json scripts: `npm run dev`, `pnpm dev`. */
  run: string;
  /**
   * How a worker runs its be-worker: its package.json script, which never downloads (npx would
   * fetch the unrelated public package `be-worker` when the worker's install has not run).
   */
  beWorker: string;
  /** A reproducible install from the lockfile, and its production-only form (Docker). */
  ci: string;
  ciProduction: string;
  /** The CI install, with its download cache in `cacheDir` (kept between GitLab CI jobs). */
  ciCached: string;
  cacheDir: string;
  lockfile: string;
  /** Needs `corepack enable` in the node image. */
  corepack: boolean;
  /** How to get it when it is missing. */
  installHint: string;
}

const COMMANDS: Record<PackageManager, PackageManagerCommands> = {
  npm: {
    name: 'npm',
    install: ['npm', 'install', '--no-fund', '--no-audit'],
    run: 'npm run',
    beWorker: 'npm run be-worker --',
    ci: 'npm ci',
    ciProduction: 'npm ci --omit=dev && npm cache clean --force',
    ciCached: 'npm ci --cache .npm --prefer-offline --no-fund --no-audit',
    cacheDir: '.npm',
    lockfile: 'package-lock.json',
    corepack: false,
    installHint: 'it comes with Node.js (https://nodejs.org)',
  },
  pnpm: {
    name: 'pnpm',
    install: ['pnpm', 'install'],
    run: 'pnpm',
    // pnpm hands a `--` on to the script, where it would end be-worker's options.
    beWorker: 'pnpm be-worker',
    ci: 'pnpm install --frozen-lockfile',
    ciProduction: 'pnpm install --prod --frozen-lockfile',
    ciCached: 'pnpm install --frozen-lockfile --store-dir .pnpm-store',
    cacheDir: '.pnpm-store',
    lockfile: 'pnpm-lock.yaml',
    corepack: true,
    installHint: 'corepack enable pnpm, or npm install -g pnpm',
  },
};

export function commandsFor(packageManager: PackageManager): PackageManagerCommands {
  return COMMANDS[packageManager];
}

/** The package manager that ran us (`npm create`, `pnpm create`), from npm_config_user_agent. */
export function detectPackageManager(userAgent = process.env.npm_config_user_agent ?? ''): PackageManager {
  const name = userAgent.split('/')[0];
  return PACKAGE_MANAGERS.find((candidate) => candidate === name) ?? 'npm';
}

/** `npm run be-worker -- <args>` (or pnpm's), for the package manager running this (npm run, pnpm). */
export function beWorkerCommand(args: string, packageManager: PackageManager = detectPackageManager()): string {
  return `${COMMANDS[packageManager].beWorker} ${args}`;
}

/** Refuses, before anything is written, an install with a package manager that is not on PATH. */
export async function requirePackageManager(packageManager: PackageManager): Promise<void> {
  if (await onPath(packageManager)) return;
  const others = PACKAGE_MANAGERS.filter((name) => name !== packageManager);
  throw new EnvironmentError(
    `${packageManager} is not installed (not found on PATH), so nothing was written: install it (${COMMANDS[packageManager].installHint}), or use --package-manager ${others.join(' or ')}, or skip the install with --no-install`,
  );
}
