// Whether a command can be run, found the way a shell finds it: in a PATH directory, executable.
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function onPath(command: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const directories = (env.PATH ?? '').split(delimiter).filter(Boolean);
  // Windows runs `pnpm` as pnpm.cmd, pnpm.exe, …
  const names =
    process.platform === 'win32'
      ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').map((extension) => command + extension.toLowerCase())
      : [command];
  for (const directory of directories) {
    for (const name of names) {
      try {
        await access(join(directory, name), constants.X_OK);
        return true;
      } catch {}
    }
  }
  return false;
}
