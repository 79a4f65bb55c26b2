/**
 * The one place an error becomes an HTTP answer: the status of each API error code, the
 * `{"error":{"code","message"}}` body (docs/openapi.yaml), the headers a cause calls for, and which
 * failures are the platform's own and get logged.
 */
import { ErrorRequestHandler } from "express";
import { ErrorBody, ErrorCode, HEADER } from "../../../contracts";
import { Logger } from "../../common/logger";
import {
  ControllerError,
  InvalidRequestError,
  NotServingError,
  PayloadTooLargeError,
  SyncWaitTimeoutError,
  TooManyRequestsError,
} from "../errors";

export const STATUS: Record<ErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  IdempotencyKeyReused: 422,
  FunctionError: 500,
  FunctionTimedOut: 500,
  InternalError: 500,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
  /** A failure of the platform itself, worth a log line (a caller's mistake or a slow function is not). */
  logged: boolean;
}

export function errorBody(code: ErrorCode, message: string, invocationId?: string): ErrorBody {
  return { error: { code, message, invocationId } };
}

export function errorResponse(err: unknown): ErrorResponse {
  const known = err instanceof ControllerError ? err : fromHttpLayer(err);
  if (known === undefined) {
    return { status: 500, headers: {}, body: errorBody("InternalError", "internal error"), logged: true };
  }
  const headers: Record<string, string> = {};
  let invocationId: string | undefined;
  if (known instanceof TooManyRequestsError || known instanceof NotServingError)
    headers["retry-after"] = String(known.retryAfterSeconds);
  if (known instanceof SyncWaitTimeoutError) {
    invocationId = known.invocationId;
    headers[HEADER.invocationId] = invocationId;
  }
  const status = STATUS[known.code];
  return {
    status,
    headers,
    body: errorBody(known.code, known.message, invocationId),
    // Neither a slow function nor a standby's refusal is a failure of the platform.
    logged: status >= 500 && known.code !== "GatewayTimeout" && !(known instanceof NotServingError),
  };
}

/**
 * Errors raised by Express itself and its body parser before a route runs, told apart by the `type`
 * and `status` properties they carry (http-errors): a body over the limit, an aborted upload, a path
 * that does not decode.
 */
function fromHttpLayer(err: unknown): ControllerError | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (e.type === "entity.too.large") return new PayloadTooLargeError(e.limit);
  if (e.type === "request.aborted" || e.type === "entity.verify.failed" || e.status === 400) {
    return new InvalidRequestError(e.message ?? "bad request");
  }
  return undefined;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const answer = errorResponse(err);
    if (answer.logged) log.error({ err: String(err), method: req.method, path: req.path }, "request failed");
    res.status(answer.status).set(answer.headers).json(answer.body);
  };
}
