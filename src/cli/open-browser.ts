// `be-worker ui --open`: the page in the default browser, as the platform opens a link.
import { spawn } from 'node:child_process';
import kleur from 'kleur';

export function openInBrowser(url: string): void {
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', url]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', url]
        : ['xdg-open', url];
  const child = spawn(command as string, args, { stdio: 'ignore', detached: true });
  // No opener (a server without a desktop): the printed URL is enough.
  child.on('error', () => console.error(kleur.yellow(`Could not open a browser (${command}); open the URL above.`)));
  child.unref();
}
