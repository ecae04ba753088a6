// Stand-ins for tools on PATH, so a test can hold a step open: a command that sleeps instead of
// working, printing a line to the terminal first so the test knows the step began.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { tempDir } from './process.ts';

export interface Shim {
  /** The command's name on PATH. */
  name: string;
  /** Sleeps only when one of its arguments is this word (e.g. git's "commit"); else runs `real`. */
  when?: string;
  /** The real command, for the calls that do not sleep. */
  real?: string;
}

/** A PATH with the shims first, then the current one. */
export async function pathWithShims(shims: readonly Shim[]): Promise<string> {
  const directory = join(await tempDir('cbw-shims-'), 'bin');
  await mkdir(directory);
  for (const { name, when, real } of shims) {
    // To the terminal itself: the tool runner captures stdout and stderr.
    const sleep = `echo "shim: ${name} holds" > /dev/tty; exec sleep 60`;
    const body = when
      ? `for arg in "$@"; do [ "$arg" = "${when}" ] && { ${sleep}; }; done\nexec ${real ?? name} "$@"`
      : sleep;
    await writeFile(join(directory, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(directory, name), 0o755);
  }
  return [directory, process.env.PATH ?? ''].join(delimiter);
}
