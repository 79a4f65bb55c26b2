/**
 * The platform's HTTP API as typed calls: every answer is parsed with the contracts, every failure is a
 * typed error. The CLI, chaos, the load generator, the benchmark and the tests all call the platform
 * through this one client instead of their own `fetch` code.
 */
import { z } from "zod";
import {
  AsyncAccepted,
  ErrorBody,
  ErrorCode,
  FunctionList,
  FunctionRecord,
  HEADER,
  Health,
  InvocationView,
  WorkerList,
} from "../contracts";

export interface ClientOptions {
  /** Each request's own limit; undefined means none (a sync invocation may take its function's timeout). */
  requestTimeoutMs?: number;
}

export interface CallOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** A synchronous invocation's answer: a function error is an outcome, not an exception. */
export interface InvokeOutcome {
  status: number;
  body: unknown;
  invocationId: string | undefined;
  workerId: string | undefined;
  durationMs: number | undefined;
  coldStart: boolean | undefined;
  /** "Unhandled", "Timeout", ... when the function failed (HEADER.functionError). */
  functionError: string | undefined;
}

/** The platform answered, with an error status. */
export class PlatformError extends Error {
  override readonly name = "PlatformError";
  constructor(
    readonly status: number,
    /** The contract's error code, or undefined when the answer was not an ErrorBody (a proxy's 502, say). */
    readonly code: ErrorCode | undefined,
    message: string,
    readonly invocationId: string | undefined,
  ) {
    super(message);
  }
}

/** Nothing answered: refused, reset, timed out. */
export class PlatformUnreachableError extends Error {
  override readonly name = "PlatformUnreachableError";
  constructor(
    readonly endpoint: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach the platform at ${endpoint} (${reason})`, options);
  }
}

/** The platform answered 2xx with something the contract does not allow: a bug on one side. */
export class UnexpectedAnswerError extends Error {
  override readonly name = "UnexpectedAnswerError";
}

export class PlatformClient {
  constructor(
    readonly endpoint: string,
    private readonly apiKey: string,
    private readonly options: ClientOptions = {},
  ) {}

  deploy(name: string, body: Record<string, unknown>): Promise<FunctionRecord> {
    return this.json("PUT", `/api/functions/${encodeURIComponent(name)}`, FunctionRecord, body);
  }

  listFunctions(): Promise<FunctionList> {
    return this.json("GET", "/api/functions", FunctionList);
  }

  getFunction(name: string): Promise<FunctionRecord> {
    return this.json("GET", `/api/functions/${encodeURIComponent(name)}`, FunctionRecord);
  }

  async deleteFunction(name: string): Promise<void> {
    await this.checked("DELETE", `/api/functions/${encodeURIComponent(name)}`);
  }

  invokeAsync(name: string, event: unknown, options: CallOptions = {}): Promise<AsyncAccepted> {
    return this.json("POST", `/api/functions/${encodeURIComponent(name)}/invoke`, AsyncAccepted, event, {
      ...options,
      headers: { [HEADER.invocationType]: "Event", ...options.headers },
    });
  }

  /** A synchronous invocation. Throws PlatformError only when the platform (not the function) failed. */
  async invoke(name: string, event: unknown, options: CallOptions = {}): Promise<InvokeOutcome> {
    const res = await this.send("POST", `/api/functions/${encodeURIComponent(name)}/invoke`, event, options);
    const text = await res.text();
    const body = parseMaybe(text);
    const functionError = res.headers.get(HEADER.functionError) ?? undefined;
    if (!res.ok && functionError === undefined) throw platformError(res.status, body, text);
    const duration = res.headers.get(HEADER.durationMs);
    const cold = res.headers.get(HEADER.coldStart);
    return {
      status: res.status,
      body,
      invocationId: res.headers.get(HEADER.invocationId) ?? undefined,
      workerId: res.headers.get(HEADER.workerId) ?? undefined,
      durationMs: duration === null ? undefined : Number(duration),
      coldStart: cold === null ? undefined : cold === "true",
      functionError,
    };
  }

  getInvocation(id: string, options: CallOptions = {}): Promise<InvocationView> {
    return this.json("GET", `/api/invocations/${encodeURIComponent(id)}`, InvocationView, undefined, options);
  }

  workers(options: CallOptions = {}): Promise<WorkerList> {
    return this.json("GET", "/api/workers", WorkerList, undefined, options);
  }

  health(options: CallOptions = {}): Promise<Health> {
    return this.json("GET", "/healthz", Health, undefined, options);
  }

  /** The Prometheus exposition text. */
  async metrics(options: CallOptions = {}): Promise<string> {
    return (await this.checked("GET", "/metrics", undefined, options)).text();
  }

  private async json<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<z.infer<T>> {
    const res = await this.checked(method, path, body, options);
    const parsed = schema.safeParse(parseMaybe(await res.text()));
    if (!parsed.success)
      throw new UnexpectedAnswerError(`unexpected answer to ${method} ${path}: ${parsed.error.message}`);
    return parsed.data;
  }

  private async checked(method: string, path: string, body?: unknown, options: CallOptions = {}) {
    const res = await this.send(method, path, body, options);
    if (!res.ok) {
      const text = await res.text();
      throw platformError(res.status, parseMaybe(text), text);
    }
    return res;
  }

  private async send(method: string, path: string, body: unknown, options: CallOptions): Promise<Response> {
    const timeout =
      this.options.requestTimeoutMs === undefined
        ? undefined
        : AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal =
      timeout !== undefined && options.signal !== undefined
        ? AbortSignal.any([timeout, options.signal])
        : (timeout ?? options.signal);
    try {
      return await fetch(`${this.endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      throw new PlatformUnreachableError(this.endpoint, cause?.message ?? (err as Error).message, {
        cause: err,
      });
    }
  }
}

function parseMaybe(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function platformError(status: number, body: unknown, text: string): PlatformError {
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success) {
    const { code, message, invocationId } = parsed.data.error;
    return new PlatformError(status, code, message, invocationId);
  }
  return new PlatformError(
    status,
    undefined,
    `the platform answered ${status}: ${text.slice(0, 300)}`,
    undefined,
  );
}
