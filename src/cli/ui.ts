// Terminal output for the bins: clack's look in a TTY, plain lines in pipes and CI logs.
import * as clack from '@clack/prompts';
import kleur from 'kleur';
import type { Progress } from '../create.ts';
import { CancelledError, EnvironmentError, exitCodeOf, UserError } from '../errors.ts';

export const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);

export function progress(): Progress {
  if (interactive) {
    const spinner = clack.spinner();
    return { start: (message) => spinner.start(message), stop: (message) => spinner.stop(message) };
  }
  return { start: (message) => console.log(`… ${message}`), stop: (message) => console.log(`✔ ${message}`) };
}

/** Prints a thrown error as one clear message and returns the exit code for it. */
export function reportError(error: unknown): number {
  const code = exitCodeOf(error);
  if (error instanceof CancelledError) {
    clack.cancel(error.message);
  } else if (error instanceof UserError || error instanceof EnvironmentError) {
    console.error(kleur.red(`✖ ${(error as Error).message}`));
  } else {
    console.error(kleur.red(`✖ Unexpected error: ${(error as Error).stack ?? String(error)}`));
  }
  return code;
}
