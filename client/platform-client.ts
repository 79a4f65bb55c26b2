/**
 * The platform's HTTP API as typed calls: every answer is parsed with the contracts, every failure is a
 * typed error. The CLI, chaos, the load generator, the benchmark and the tests all call the platform
 * through this one client instead of their own `fetch` code. It retries what is safe to retry (see
 * PlatformClient), so a controller replaced under a caller costs it latency, not an error.
 */
import { randomUUID } from "node:crypto";
// undici (the HTTP client Node's fetch is built on, as a package): its dispatcher can pin a
// certificate, and its request() costs a fifth of fetch()'s CPU (0.1 against 0.3-0.4 ms a call here).
import { type Agent, request } from "undici";
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
import { CertificateMismatchError, pinnedDispatcher } from "./pinned-tls";

export interface ClientOptions {
  /** Each attempt's own limit; undefined means none (a sync invocation may take its function's timeout). */
  requestTimeoutMs?: number;
  /** How calls are retried; false: every call is one attempt, its failure the caller's at once. */
  retry?: RetryOptions | false;
  /** Told of every failed attempt that will be retried (retries are invisible otherwise). */
  onRetry?: (event: RetryEvent) => void;
  /**
   * The SHA-256 fingerprint of the API's self-signed certificate (an https endpoint): only a server
   * presenting exactly that certificate gets the request (client/pinned-tls.ts).
   */
  tlsFingerprint?: string;
}

export interface RetryOptions {
  /**
   * What a call may take in all, every attempt and wait included (60 s by default): an attempt still
   * running then is cut off, and the call fails with the last error. A synchronous invocation of a
   * function that runs longer needs a longer deadline.
   */
  deadlineMs?: number;
  /** The first wait between attempts (100 ms); each next one doubles, up to `maxDelayMs` (5 s), with jitter. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** A failed attempt that the client is about to retry. */
export interface RetryEvent {
  method: string;
  path: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  /** The status it was answered with; 0 when nothing answered (refused, reset, timed out). */
  status: number;
  error: Error;
  /** The wait before the next attempt: backoff with jitter, or the answer's Retry-After when longer. */
  delayMs: number;
  /** The invocation's Idempotency-Key, for invocations. */
  idempotencyKey: string | undefined;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** The caller's own abort: the call stops at once, without retrying. */
  signal?: AbortSignal;
  /** This call's deadline instead of the client's. */
  deadlineMs?: number;
  /** Told of this call's retries, besides the client's `onRetry`. */
  onRetry?: (event: RetryEvent) => void;
}

export interface InvokeOptions extends CallOptions {
  /**
   * The invocation's Idempotency-Key (docs/idempotency.md); a random UUID when not given. Every
   * attempt of the call sends the same key, so a retry never runs the function twice: it gets the
   * first attempt's invocation (async: its id; sync: its result).
   */
  idempotencyKey?: string;
}

/** Statuses worth another attempt: the platform is at capacity, or something between is replacing it. */
const RETRYABLE = new Set([429, 502, 503]);
const DEFAULT_RETRY: Required<RetryOptions> = { deadlineMs: 60_000, initialDelayMs: 100, maxDelayMs: 5000 };

/** One HTTP answer: its status, its headers by lower-case name, and its body, read once. */
interface Answer {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  text(): Promise<string>;
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

/**
 * Every call is retried while it may be, within its deadline: connection errors (refused, reset,
 * timed out) and 429, 502 and 503 answers, with exponential backoff and jitter, and never sooner than
 * the answer's Retry-After. Invocations are safe to retry because each carries an Idempotency-Key: a
 * synchronous call whose connection died while its function ran is resumed by the retry, which
 * attaches to the same invocation (a 504, the platform's wait running out, is retried the same way).
 * Deploys (PUT) and reads are idempotent by nature. What is retried is counted in `stats` and
 * reported to `onRetry`.
 */
export class PlatformClient {
  /** Calls made, attempts sent (a call is one attempt or more), and attempts that failed and were retried. */
  readonly stats = { calls: 0, attempts: 0, retries: 0 };
  private readonly retry: Required<RetryOptions> | undefined;
  private readonly dispatcher: Agent | undefined;

  constructor(
    readonly endpoint: string,
    private readonly apiKey: string,
    private readonly options: ClientOptions = {},
  ) {
    this.retry = options.retry === false ? undefined : { ...DEFAULT_RETRY, ...options.retry };
    this.dispatcher =
      options.tlsFingerprint === undefined ? undefined : pinnedDispatcher(options.tlsFingerprint);
  }

  deploy(name: string, body: Record<string, unknown>, options: CallOptions = {}): Promise<FunctionRecord> {
    return this.json("PUT", `/api/functions/${encodeURIComponent(name)}`, FunctionRecord, body, options);
  }

  listFunctions(options: CallOptions = {}): Promise<FunctionList> {
    return this.json("GET", "/api/functions", FunctionList, undefined, options);
  }

  getFunction(name: string, options: CallOptions = {}): Promise<FunctionRecord> {
    return this.json("GET", `/api/functions/${encodeURIComponent(name)}`, FunctionRecord, undefined, options);
  }

  async deleteFunction(name: string, options: CallOptions = {}): Promise<void> {
    // Read to its end, so that its connection serves the next call.
    await (
      await this.checked("DELETE", `/api/functions/${encodeURIComponent(name)}`, undefined, options)
    ).text();
  }

  /** An asynchronous invocation: resolves once the platform has queued it. */
  invokeAsync(name: string, event: unknown, options: InvokeOptions = {}): Promise<AsyncAccepted> {
    return this.json("POST", `/api/functions/${encodeURIComponent(name)}/invoke`, AsyncAccepted, event, {
      ...withKey(options),
      headers: { [HEADER.invocationType]: "Event", ...withKey(options).headers },
    });
  }

  /** A synchronous invocation. Throws PlatformError only when the platform (not the function) failed. */
  async invoke(name: string, event: unknown, options: InvokeOptions = {}): Promise<InvokeOutcome> {
    const res = await this.send(
      "POST",
      `/api/functions/${encodeURIComponent(name)}/invoke`,
      event,
      withKey(options),
      // 504: the platform's wait ran out while the function runs on; the same key waits again.
      (status) => RETRYABLE.has(status) || status === 504,
    );
    const text = await res.text();
    const body = parseMaybe(text);
    const functionError = res.header(HEADER.functionError);
    if (!res.ok && functionError === undefined) throw platformError(res.status, body, text);
    const duration = res.header(HEADER.durationMs);
    const cold = res.header(HEADER.coldStart);
    return {
      status: res.status,
      body,
      invocationId: res.header(HEADER.invocationId),
      workerId: res.header(HEADER.workerId),
      durationMs: duration === undefined ? undefined : Number(duration),
      coldStart: cold === undefined ? undefined : cold === "true",
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

  /**
   * Sends the request, again while it fails in a way worth retrying and the deadline allows. Answers
   * the first response that is not retried (which may be an error status: the caller reads it).
   * `retryStatus` says which statuses are retried (RETRYABLE by default).
   */
  private async send(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions,
    retryStatus: (status: number) => boolean = (status) => RETRYABLE.has(status),
  ): Promise<Answer> {
    this.stats.calls++;
    const retry = this.retry;
    const deadlineMs = options.deadlineMs ?? retry?.deadlineMs;
    const startedAt = Date.now();
    const deadline = deadlineMs === undefined ? undefined : AbortSignal.timeout(deadlineMs);
    const key = options.headers?.[HEADER.idempotencyKey];
    let last: Error | undefined;
    for (let attempt = 1; ; attempt++) {
      this.stats.attempts++;
      let failure: { status: number; error: Error; retryAfterMs?: number };
      try {
        const res = await this.attempt(method, path, body, options, deadline);
        if (retry === undefined || !retryStatus(res.status)) return res;
        const text = await res.text();
        failure = {
          status: res.status,
          error: platformError(res.status, parseMaybe(text), text),
          retryAfterMs: retryAfter(res.header("retry-after") ?? null),
        };
      } catch (err) {
        if (!(err instanceof PlatformUnreachableError) || retry === undefined) throw err;
        if (options.signal?.aborted === true) throw err;
        if (deadline?.aborted === true) {
          // The deadline cut this attempt off: the last answer, if any, says more than the cut.
          throw (
            last ??
            new PlatformUnreachableError(
              this.endpoint,
              `no answer within the call's deadline of ${deadlineMs} ms, after ${attempt} attempt(s)`,
              { cause: err },
            )
          );
        }
        failure = { status: 0, error: err };
      }
      last = failure.error;
      const backoff = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
      const delayMs = Math.max(Math.round(backoff * (0.5 + Math.random() / 2)), failure.retryAfterMs ?? 0);
      // No attempt would start before the deadline: the caller sees the failure now.
      if (deadlineMs !== undefined && Date.now() - startedAt + delayMs >= deadlineMs) throw failure.error;
      this.stats.retries++;
      const event: RetryEvent = {
        method,
        path,
        attempt,
        status: failure.status,
        error: failure.error,
        delayMs,
        idempotencyKey: key,
      };
      this.options.onRetry?.(event);
      options.onRetry?.(event);
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted === true) throw failure.error;
    }
  }

  /** One attempt: a response, whatever its status, or a PlatformUnreachableError. */
  private async attempt(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions,
    deadline: AbortSignal | undefined,
  ): Promise<Answer> {
    const signals = [
      this.options.requestTimeoutMs === undefined
        ? undefined
        : AbortSignal.timeout(this.options.requestTimeoutMs),
      options.signal,
      deadline,
    ].filter((s): s is AbortSignal => s !== undefined);
    try {
      const res = await request(`${this.endpoint}${path}`, {
        ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }),
        method: method as "GET",
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...options.headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal:
          signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals),
      });
      return {
        status: res.statusCode,
        ok: res.statusCode >= 200 && res.statusCode < 300,
        header: (name) => {
          const value = res.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(", ") : value;
        },
        text: () => res.body.text(),
      };
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause;
      // Not a server that is away but the wrong one: a retry would only offer it the key again.
      if (err instanceof CertificateMismatchError) throw err;
      if (cause instanceof CertificateMismatchError) throw cause;
      throw new PlatformUnreachableError(this.endpoint, (err as Error).message || String(cause), {
        cause: err,
      });
    }
  }
}

/** The options with the invocation's Idempotency-Key among the headers: the caller's, or a new one. */
function withKey(options: InvokeOptions): CallOptions {
  const { idempotencyKey = randomUUID(), ...rest } = options;
  return { ...rest, headers: { ...rest.headers, [HEADER.idempotencyKey]: idempotencyKey } };
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110); undefined when absent or unreadable. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

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
