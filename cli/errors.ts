/**
 * A mistake the user can fix (bad input, nothing running, wrong key): printed as one line with the fix,
 * exit 1, no stack trace. Anything else is a system error and prints its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
}
