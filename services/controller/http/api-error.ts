import { ErrorCode } from "../../../contracts";

const STATUS: Record<ErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  FunctionError: 500,
  FunctionTimedOut: 500,
  InternalError: 500,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

/** An error the API answers with its own status and `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { invocationId?: string; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }
}
