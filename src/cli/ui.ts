// Terminal output for the bins: clack's look in a TTY, plain lines in pipes and CI logs.
import { stripVTControlCharacters } from 'node:util';
import type * as Clack from '@clack/prompts';
import kleur from 'kleur';
import type { Progress } from '../create.ts';
import { CancelledError, EnvironmentError, exitCodeOf, UserError } from '../errors.ts';

export const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);

/** clack, its prompts and its look, imported on first use: a run without a terminal needs it only to report a cancel. */
export const clack = (): Promise<typeof Clack> => import('@clack/prompts');

export async function progress(): Promise<Progress> {
  if (interactive) return spinner(await clack());
  return {
    start: (message) => console.log(`… ${message}`),
    stop: (message) => console.log(`✔ ${message}`),
    fail: (message) => console.log(`✖ ${message}`),
  };
}

const FRAMES = ['◒', '◐', '◓', '◑'];

/**
 * A spinner that leaves the keyboard alone. clack's own reads keys in raw mode and exits 0 on
 * Ctrl-C; with this one Ctrl-C stays the terminal's SIGINT, which the bins turn into exit 130.
 */
function spinner(clack: typeof Clack): Progress {
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    clearInterval(timer);
    process.stdout.write('\r\x1b[2K');
  };
  return {
    start(message) {
      let frame = 0;
      const draw = () =>
        process.stdout.write(`\r\x1b[2K${kleur.magenta(FRAMES[frame++ % FRAMES.length] ?? '')}  ${message}…`);
      draw();
      timer = setInterval(draw, 120);
    },
    stop(message) {
      end();
      clack.log.success(message);
    },
    fail(message) {
      end();
      clack.log.error(message);
    },
  };
}

/**
 * Ctrl-C outside a prompt aborts the returned signal: the work stops at its next step, cleans up
 * and says what was kept (exit 130). A second Ctrl-C exits at once.
 */
export function cancelOnCtrlC(): AbortSignal {
  const aborted = new AbortController();
  process.on('SIGINT', () => (aborted.signal.aborted ? process.exit(130) : aborted.abort()));
  return aborted.signal;
}

/** Prints a thrown error as one clear message and returns the exit code for it. */
export async function reportError(error: unknown): Promise<number> {
  const code = exitCodeOf(error);
  if (error instanceof CancelledError) {
    (await clack()).cancel(error.message);
  } else if (error instanceof UserError || error instanceof EnvironmentError) {
    console.error(kleur.red(`✖ ${(error as Error).message}`));
  } else {
    console.error(kleur.red(`✖ Unexpected error: ${(error as Error).stack ?? String(error)}`));
  }
  return code;
}

/**
 * Asks `question` in a terminal after `show` printed what it is about; without a terminal refuses
 * (exit 1) saying `what` and that --yes does it. No, or Esc, cancels: nothing was changed.
 */
export async function confirmOrRefuse(question: string, what: string, show?: () => void): Promise<true> {
  if (!interactive) throw new UserError(`${what}; pass --yes to do it without a terminal`);
  show?.();
  const prompts = await clack();
  const answer = await prompts.confirm({ message: question, initialValue: false });
  if (prompts.isCancel(answer) || !answer) throw new CancelledError('Nothing was changed.');
  return true;
}

/**
 * One line of text asked in a terminal. Enter on an empty answer takes `initial`, when there is
 * one; a placeholder alone is only an example. With `prefill`, `initial` is typed in already, to
 * edit or add to. Resolves to null when cancelled (Esc, Ctrl-C).
 */
export async function askText({
  message,
  placeholder,
  initial,
  prefill = false,
  validate,
}: {
  message: string;
  placeholder?: string | undefined;
  initial?: string | undefined;
  prefill?: boolean | undefined;
  validate(text: string): string | undefined;
}): Promise<string | null> {
  const prompts = await clack();
  const answer = await prompts.text({
    message,
    placeholder: prefill ? placeholder : (initial ?? placeholder),
    ...(prefill ? { initialValue: initial } : { defaultValue: initial }),
    validate: (value) => validate(value || (initial ?? '')),
  });
  return prompts.isCancel(answer) ? null : String(answer) || (initial ?? '');
}

/** `askText`, with a cancel (Esc, Ctrl-C) a CancelledError: nothing was changed. */
export async function askTextOrCancel(question: Parameters<typeof askText>[0]): Promise<string> {
  const answer = await askText(question);
  if (answer === null) throw new CancelledError('Cancelled; nothing was changed.');
  return answer;
}

/** The rule a value breaks (the message `check` throws), or undefined: a prompt's validate. */
export function brokenRule(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Columns padded to their widest cell (colour codes not counted); the last one is left as it is. */
export function table(header: string[], rows: string[][], indent = ''): string[] {
  const widths = header.map((title, column) =>
    Math.max(
      stripVTControlCharacters(title).length,
      ...rows.map((row) => stripVTControlCharacters(row[column] ?? '').length),
    ),
  );
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, column) =>
        column < cells.length - 1
          ? cell + ' '.repeat((widths[column] ?? 0) - stripVTControlCharacters(cell).length)
          : cell,
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
