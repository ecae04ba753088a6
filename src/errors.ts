// Typed errors: the library throws them, the bins turn them into a message and an exit code.

/** Bad input or a refused action: exit 1. */
export class UserError extends Error {
  override name = 'UserError';
  readonly exitCode: number = 1;
}

/** The machine, network or a tool failed (install, git, AWS): exit 2. */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
  readonly exitCode: number = 2;
}

/** The user pressed Ctrl-C: exit 130. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  readonly exitCode: number = 130;
  constructor(message = 'Cancelled; nothing was written.') {
    super(message);
  }
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UserError || error instanceof EnvironmentError || error instanceof CancelledError) {
    return error.exitCode;
  }
  return 1;
}
