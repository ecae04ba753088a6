// A bin in a real pseudo-terminal (node-pty), as a user meets it: clack's prompts, raw keys, and
// Ctrl-C as the terminal's SIGINT to the whole foreground process group (children included).
// Every step waits on what is on the screen, never on a delay.
import { stripVTControlCharacters } from 'node:util';
import * as pty from 'node-pty';

export const KEYS = {
  ENTER: '\r',
  CTRL_C: '\x03',
  BACKSPACE: '\x7f',
  DOWN: '\x1b[B',
  LEFT: '\x1b[D',
  SPACE: ' ',
} as const;

export interface Terminal {
  /** Everything printed so far, without ANSI escapes. */
  screen(): string;
  /** Everything printed so far, escapes included (cursor moves, colours). */
  output(): string;
  /** Resolves once `text` is on the screen; rejects on timeout or if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  write(s: string): void;
  /** The exit code. */
  exited: Promise<number>;
}

const running = new Set<pty.IPty>();

/** Kills what is still running; for afterEach. */
export function killTerminals(): void {
  for (const terminal of running) terminal.kill();
  running.clear();
}

/** Runs `node <script> ...args` in a terminal, with the environment plus `env` (CI unset). */
export function spawnInTerminal(
  script: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Terminal {
  return runInTerminal(process.execPath, [script, ...args], cwd, env);
}

/** Runs any command (`npm run dev`) in a terminal, as `spawnInTerminal` does. */
export function runInTerminal(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined> = {},
): Terminal {
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, CI: undefined, TERM: 'xterm-256color', ...env })) {
    if (value !== undefined) merged[key] = value;
  }
  const terminal = pty.spawn(command, args, {
    name: 'xterm-256color',
    cols: 120,
    rows: 40,
    cwd,
    env: merged,
  });
  running.add(terminal);

  let output = '';
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  terminal.onData((chunk) => {
    output += chunk;
    notify();
  });
  const exited = new Promise<number>((resolve) => {
    terminal.onExit(({ exitCode }) => {
      done = true;
      running.delete(terminal);
      notify();
      resolve(exitCode);
    });
  });
  const screen = () => stripVTControlCharacters(output);
  const found = (text: string | RegExp) => (typeof text === 'string' ? screen().includes(text) : text.test(screen()));

  return {
    screen,
    output: () => output,
    write: (s) => terminal.write(s),
    exited,
    waitFor: (text, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (found(text)) finish();
          else if (done) finish(new Error(`the CLI exited before ${String(text)} appeared; screen:\n${screen()}`));
        };
        const timer = setTimeout(
          () => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${String(text)}; screen:\n${screen()}`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
      }),
  };
}
