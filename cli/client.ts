/** The platform's HTTP API for the CLI: one method per call, errors turned into one readable line. */
import {
  AsyncAccepted,
  ErrorBody,
  FunctionList,
  FunctionRecord,
  HEADER,
  InvocationView,
  WorkerList,
} from "../contracts";
import { UserError } from "./errors";
import { z } from "zod";

export interface InvokeOutcome {
  status: number;
  body: unknown;
  invocationId: string | undefined;
  workerId: string | undefined;
  durationMs: string | undefined;
  coldStart: string | undefined;
  functionError: string | undefined;
}

export class ApiClient {
  constructor(
    private readonly endpoint: string,
    private readonly apiKey: string,
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
    await this.request("DELETE", `/api/functions/${encodeURIComponent(name)}`);
  }

  invokeAsync(name: string, event: unknown): Promise<AsyncAccepted> {
    return this.json("POST", `/api/functions/${encodeURIComponent(name)}/invoke`, AsyncAccepted, event, {
      [HEADER.invocationType]: "Event",
    });
  }

  /** A synchronous call; a function error is an outcome to show, not an exception. */
  async invoke(name: string, event: unknown): Promise<InvokeOutcome> {
    const res = await this.send("POST", `/api/functions/${encodeURIComponent(name)}/invoke`, event);
    const text = await res.text();
    const body = parseMaybe(text);
    if (!res.ok && res.headers.get(HEADER.functionError) === null) throw apiError(res.status, body, text);
    return {
      status: res.status,
      body,
      invocationId: res.headers.get(HEADER.invocationId) ?? undefined,
      workerId: res.headers.get(HEADER.workerId) ?? undefined,
      durationMs: res.headers.get(HEADER.durationMs) ?? undefined,
      coldStart: res.headers.get(HEADER.coldStart) ?? undefined,
      functionError: res.headers.get(HEADER.functionError) ?? undefined,
    };
  }

  getInvocation(id: string): Promise<InvocationView> {
    return this.json("GET", `/api/invocations/${encodeURIComponent(id)}`, InvocationView);
  }

  workers(): Promise<WorkerList> {
    return this.json("GET", "/api/workers", WorkerList);
  }

  private async json<T extends z.ZodType>(
    method: string,
    path: string,
    schema: T,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<z.infer<T>> {
    const res = await this.request(method, path, body, headers);
    const parsed = schema.safeParse(parseMaybe(await res.text()));
    if (!parsed.success) throw new Error(`unexpected answer from ${method} ${path}: ${parsed.error.message}`);
    return parsed.data;
  }

  private async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    const res = await this.send(method, path, body, headers);
    if (!res.ok) {
      const text = await res.text();
      throw apiError(res.status, parseMaybe(text), text);
    }
    return res;
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    try {
      return await fetch(`${this.endpoint}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new UserError(
        `cannot reach the platform at ${this.endpoint} (${(err as Error & { cause?: Error }).cause?.message ?? String(err)}): is \`make dev\` running?`,
      );
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

function apiError(status: number, body: unknown, text: string): UserError {
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success) {
    const { code, message, invocationId } = parsed.data.error;
    return new UserError(
      `${code} (${status}): ${message}${invocationId ? ` [invocation ${invocationId}]` : ""}`,
    );
  }
  return new UserError(`the platform answered ${status}: ${text.slice(0, 300)}`);
}
