/**
 * The controller's errors, one class per cause, each carrying the API's error code (`ErrorCode` in
 * contracts/schemas.ts). Whoever detects a cause throws its class: the HTTP routes, the function store,
 * the queue, the invocation records. Nothing here knows about HTTP: http/error-response.ts alone turns
 * a code into a status and a body, and everything that is not a ControllerError is an internal error.
 *
 * Adapters translate their client's errors into these by class, name or code, never by message text;
 * `isNetworkError` is what they share.
 */
import { ErrorCode } from "../../contracts";

export class ControllerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: a body that is not JSON or not the schema, a bad name or id, code that does not parse. */
export class InvalidRequestError extends ControllerError {
  constructor(message: string) {
    super("BadRequest", message);
  }
}

export class UnauthorizedError extends ControllerError {
  constructor(message: string) {
    super("Unauthorized", message);
  }
}

export class NotFoundError extends ControllerError {
  constructor(message: string) {
    super("NotFound", message);
  }
}

export class FunctionNotFoundError extends NotFoundError {
  constructor(readonly functionName: string) {
    super(`function '${functionName}' does not exist; deploy it with PUT /api/functions/${functionName}`);
  }
}

/** Two deploys of one function raced and this one lost. */
export class ConflictError extends ControllerError {
  constructor(message: string) {
    super("Conflict", message);
  }
}

export class PayloadTooLargeError extends ControllerError {
  constructor(readonly limitBytes: number | undefined) {
    super("PayloadTooLarge", `the request body is larger than the limit of ${limitBytes ?? "?"} bytes`);
  }
}

/** The platform or the function is at capacity; nothing was enqueued, and the caller may retry. */
export class TooManyRequestsError extends ControllerError {
  readonly retryAfterSeconds = 1;
  constructor(message: string) {
    super("TooManyRequests", message);
  }
}

/**
 * An Idempotency-Key came back with a different request (another event or invocation type) than the
 * one it was first used with: 422, as the IETF draft says. Nothing was enqueued.
 */
export class IdempotencyKeyReusedError extends ControllerError {
  constructor() {
    super(
      "IdempotencyKeyReused",
      `this Idempotency-Key was used for a different request (another event or invocation type) to this function; use a new key for a new request`,
    );
  }
}

/** The task queue did not take the task: unreachable, or it refused it. Nothing was accepted. */
export class QueueUnavailableError extends ControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ServiceUnavailable", message, options);
  }
}

/** The function store (S3, DynamoDB) or the invocation records (Redis) could not be reached. */
export class StoreUnavailableError extends ControllerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ServiceUnavailable", message, options);
  }
}

/**
 * This controller does not serve the API now: it is the standby (the active one holds the Elastic
 * IP), or it is stopping. The caller retries and reaches whichever controller serves.
 */
export class NotServingError extends ControllerError {
  readonly retryAfterSeconds = 1;
  constructor(message: string) {
    super("ServiceUnavailable", message);
  }
}

/** A synchronous caller's wait ran out; the invocation is still accepted and has this id. */
export class SyncWaitTimeoutError extends ControllerError {
  constructor(
    readonly invocationId: string,
    waitMs: number,
  ) {
    super(
      "GatewayTimeout",
      `no result within ${waitMs} ms; the invocation is still accepted: GET /api/invocations/${invocationId}`,
    );
  }
}

/** Socket error codes that mean the other end could not be reached or went away mid-request. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * A failure to reach a service, by the error's `code` (Node's socket errors, which the AWS SDK and
 * ioredis pass on) or its name (`TimeoutError`: the SDK's HTTP handler gave up waiting). Node reports a
 * connection tried on several addresses as an AggregateError of such errors.
 */
export function isNetworkError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const { code, name } = err as { code?: unknown; name?: unknown };
  if (typeof code === "string" && NETWORK_ERROR_CODES.has(code)) return true;
  if (name === "TimeoutError") return true;
  return err instanceof AggregateError && err.errors.some(isNetworkError);
}
