import { PlatformError, PlatformUnreachableError, UnexpectedAnswerError } from "../client/platform-client";

/**
 * A mistake the user can fix (bad input, nothing running, wrong key): printed as one line with the fix,
 * exit 1, no stack trace. Anything else is a system error and prints its stack.
 */
export class UserError extends Error {
  override readonly name = "UserError";
}

/** The one line the CLI prints for an error the user can act on; undefined for anything else (a bug). */
export function userMessage(err: unknown): string | undefined {
  if (err instanceof UserError || err instanceof UnexpectedAnswerError) return err.message;
  if (err instanceof PlatformUnreachableError) return `${err.message}: is \`make dev\` running?`;
  if (err instanceof PlatformError)
    return err.code === undefined
      ? err.message
      : `${err.code} (${err.status}): ${err.message}${err.invocationId ? ` [invocation ${err.invocationId}]` : ""}`;
  return undefined;
}
