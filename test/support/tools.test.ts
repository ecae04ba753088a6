import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './process.ts';
import { requireTools } from './tools.ts';

describe('requireTools', () => {
  it('names each missing tool and how to install it, and passes once it is on PATH', async () => {
    const bin = join(await tempDir(), 'bin');
    await mkdir(bin);
    await expect(requireTools(['promtool', 'redis-server'], { PATH: bin })).rejects.toThrow(
      "promtool (Prometheus' checker of configs and /metrics) is not installed, and this test needs it: sudo apt-get install prometheus on Debian or Ubuntu, or promtool from https://prometheus.io/download/ (or run .ci/run).\n" +
        'redis-server (a real Redis) is not installed, and this test needs it: sudo apt-get install redis-server, or brew install redis (or run .ci/run).',
    );
    await writeFile(join(bin, 'promtool'), '#!/bin/sh\n');
    await chmod(join(bin, 'promtool'), 0o755);
    await expect(requireTools(['promtool'], { PATH: bin })).resolves.toBeUndefined();
  });
});
