/**
 * Errors a user can act on. The CLI prints `message` alone (no stack) and exits 2;
 * anything else is a bug and is printed with its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
