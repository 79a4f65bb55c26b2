/**
 * The controller's HTTP API (design.md §2, docs/openapi.yaml). Bodies are read raw and parsed here so
 * that every malformed, oversized or mistyped request gets the same JSON error shape.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { Script } from "node:vm";
import express, { NextFunction, Request, Response } from "express";
import { z } from "zod";
import {
  DeployFunctionRequest,
  ErrorBody,
  FUNCTION_NAME_PATTERN,
  HEADER,
  Heartbeat,
  InvocationResult,
  InvocationTask,
} from "../../../contracts";
import { EnvSealer } from "../../common/env-seal";
import { InvocationStore } from "../../common/invocation-store";
import { Logger } from "../../common/logger";
import { checkZip, CodeArchiveError } from "../code-archive";
import { FunctionStore } from "../function-store";
import { InflightTracker } from "../inflight";
import { KnownFunctions } from "../known-functions";
import { Metrics } from "../metrics";
import { ResultWaiter } from "../result-waiter";
import { TaskQueue } from "../task-queue";
import { WorkerRegistry } from "../worker-registry";
import { ApiError } from "./api-error";
import { FunctionCache } from "./function-cache";

export interface AppDeps {
  instanceId: () => string;
  apiKey: string;
  workerSecret: string;
  /** Seals each task's env vars; only workers (and this controller) hold its key. */
  envSealer: EnvSealer;
  functions: FunctionStore;
  queue: TaskQueue;
  invocations: Pick<InvocationStore, "recordQueued" | "forget" | "view">;
  results: Pick<ResultWaiter, "wait" | "cancel" | "size">;
  /** Invocations accepted here without a result yet: the per-function concurrency limit. */
  inflight: InflightTracker;
  /** Told of deploys and removals made here, so their results count under the function at once. */
  knownFunctions: Pick<KnownFunctions, "added" | "removed">;
  registry: WorkerRegistry;
  metrics: Metrics;
  log: Logger;
  limits: {
    maxEventBytes: number;
    maxCodeBytes: number;
    maxUnpackedCodeBytes: number;
    maxQueueDepth: number;
    maxSyncWaiters: number;
  };
  syncWaitExtraMs: number;
  /**
   * How long an accepted invocation counts against its function's concurrency beyond its timeout and
   * the synchronous wait's extra (which covers queueing and a cold start): enough for one retry after
   * the worker running it died (the task comes back after the visibility timeout, 30 s by default).
   * After that the entry expires, result or not, so a result this controller never saw cannot keep a
   * function throttled.
   */
  inflightGraceMs: number;
  heartbeatIntervalMs: number;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const functionCache = new FunctionCache(deps.functions, 2000);

  app.use((req, res, next) => {
    res.on("finish", () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      deps.metrics.httpRequests.inc({ route: `${req.method} ${route}`, status: String(res.statusCode) });
    });
    next();
  });

  const requireApiKey = bearerAuth(deps.apiKey);
  const eventBody = express.raw({ type: () => true, limit: deps.limits.maxEventBytes });
  const codeBody = express.raw({ type: () => true, limit: deps.limits.maxCodeBytes });
  const smallBody = express.raw({ type: () => true, limit: 64 * 1024 });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok", instanceId: deps.instanceId() });
  });

  // Behind the key: the metrics name every function and show the platform's load (Prometheus sends
  // it with `authorization: { credentials: <key> }`).
  app.get("/metrics", requireApiKey, async (_req, res) => {
    deps.metrics.syncWaiters.set(deps.results.size);
    const depth = deps.queue.approximateDepth();
    if (depth !== undefined) deps.metrics.queueDepth.set(depth);
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.put("/api/functions/:name", requireApiKey, codeBody, async (req, res) => {
    const name = functionNameParam(req);
    const body = parseJsonBody(req, DeployFunctionRequest);
    if (body.source !== undefined) checkSyntax(body.source);
    if (body.zip !== undefined) checkArchive(body.zip, body.handler, deps.limits.maxUnpackedCodeBytes);
    const { record, changed } = await deps.functions.put(name, body);
    functionCache.invalidate(name);
    deps.knownFunctions.added(name);
    deps.log.info({ function: name, version: record.version, changed }, "function deployed");
    res.status(changed && record.version === 1 ? 201 : 200).json(record);
  });

  app.get("/api/functions", requireApiKey, async (_req, res) => {
    res.json({ functions: await deps.functions.list() });
  });

  app.get("/api/functions/:name", requireApiKey, async (req, res) => {
    const name = functionNameParam(req);
    const record = await deps.functions.get(name);
    if (record === undefined) throw notFound(name);
    res.json(record);
  });

  app.delete("/api/functions/:name", requireApiKey, async (req, res) => {
    const name = functionNameParam(req);
    const removed = await deps.functions.delete(name);
    functionCache.invalidate(name);
    deps.knownFunctions.removed(name);
    if (!removed) throw notFound(name);
    deps.log.info({ function: name }, "function removed");
    res.status(204).end();
  });

  app.post("/api/functions/:name/invoke", requireApiKey, eventBody, async (req, res) => {
    const name = functionNameParam(req);
    const event = parseEvent(req);
    const fn = await functionCache.get(name);
    if (fn === undefined) throw notFound(name);
    const isAsync = req.get(HEADER.invocationType)?.toLowerCase() === "event" || req.query.async === "true";
    checkCapacity(deps, isAsync);

    const invocationId = randomUUID();
    const waitMs = fn.timeoutMs + deps.syncWaitExtraMs;
    if (!deps.inflight.admit(invocationId, name, fn.maxConcurrency, waitMs + deps.inflightGraceMs)) {
      deps.metrics.invocations.inc({ function: name, outcome: "throttled" });
      throw new ApiError(
        "TooManyRequests",
        `function '${name}' is at its concurrency limit of ${fn.maxConcurrency ?? "?"} invocations in flight (maxConcurrency); nothing was enqueued, retry later`,
        { headers: { "retry-after": "1" } },
      );
    }
    const { env, ...taskFunction } = fn;
    const task: InvocationTask = {
      invocationId,
      function: taskFunction,
      sealedEnv: deps.envSealer.seal(env, { invocationId, functionName: fn.name, version: fn.version }),
      event,
      mode: isAsync ? "async" : "sync",
      enqueuedAt: Date.now(),
    };
    const resultPromise = isAsync ? undefined : deps.results.wait(invocationId, waitMs);
    try {
      await enqueue(deps, task);
    } catch (err) {
      deps.results.cancel(invocationId);
      deps.inflight.release(invocationId);
      throw err;
    }
    deps.metrics.invocations.inc({ function: name, outcome: "accepted" });

    if (resultPromise === undefined) {
      res
        .status(202)
        .location(`/api/invocations/${invocationId}`)
        .set(HEADER.invocationId, invocationId)
        .json({ invocationId });
      return;
    }
    const result = await resultPromise;
    // Usually a no-op: the results channel released it already, but a result found by re-reading
    // the store after a reconnect never passes through the channel.
    if (result !== undefined) deps.inflight.release(invocationId);
    if (result === undefined) {
      throw new ApiError(
        "GatewayTimeout",
        `no result within ${waitMs} ms; the invocation is still accepted: GET /api/invocations/${invocationId}`,
        { invocationId, headers: { [HEADER.invocationId]: invocationId } },
      );
    }
    sendResult(res, result);
  });

  app.get("/api/invocations/:id", requireApiKey, async (req, res) => {
    const id = String(req.params.id ?? "");
    if (!z.uuid().safeParse(id).success) throw new ApiError("BadRequest", "invocation ids are UUIDs");
    const view = await deps.invocations.view(id);
    if (view === undefined)
      throw new ApiError("NotFound", `no invocation '${id}' (results expire after their TTL)`);
    res.json(view);
  });

  app.post("/api/worker/heartbeat", smallBody, (req, res) => {
    if (!secretMatches(req.get(HEADER.workerSecret), deps.workerSecret)) {
      throw new ApiError("Unauthorized", `missing or wrong ${HEADER.workerSecret} header`);
    }
    const beat = parseJsonBody(req, Heartbeat);
    const registered = deps.registry.heartbeat(beat);
    res.json({
      controllerInstanceId: deps.instanceId(),
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      registered,
    });
  });

  app.get("/api/workers", requireApiKey, (_req, res) => {
    res.json(deps.registry.list(deps.instanceId()));
  });

  app.use((_req, _res) => {
    throw new ApiError("NotFound", "no such route");
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500 && apiError.code !== "FunctionError" && apiError.code !== "GatewayTimeout") {
      deps.log.error({ err: String(err), method: req.method, path: req.path }, "request failed");
    }
    const body: ErrorBody = {
      error: { code: apiError.code, message: apiError.message, invocationId: apiError.extra.invocationId },
    };
    res
      .status(apiError.status)
      .set(apiError.extra.headers ?? {})
      .json(body);
  });
  return app;
}

function sendResult(res: Response, result: InvocationResult): void {
  res.set({
    [HEADER.invocationId]: result.invocationId,
    [HEADER.workerId]: result.workerId,
    [HEADER.durationMs]: String(result.durationMs),
    [HEADER.coldStart]: String(result.coldStart),
  });
  if (result.status === "succeeded") {
    res
      .status(200)
      .type("application/json")
      .send(JSON.stringify(result.result ?? null));
    return;
  }
  const code = result.status === "timed_out" ? "FunctionTimedOut" : "FunctionError";
  const body: ErrorBody = {
    error: { code, message: result.error?.message ?? result.status, invocationId: result.invocationId },
  };
  res
    .status(500)
    .set(HEADER.functionError, "Unhandled")
    .json({ ...body, errorType: result.error?.type, logs: result.logs });
}

async function enqueue(deps: AppDeps, task: InvocationTask): Promise<void> {
  try {
    await deps.invocations.recordQueued(task.invocationId, task.function.name, task.enqueuedAt);
  } catch (err) {
    throw new ApiError("ServiceUnavailable", `result store unreachable: ${String(err)}`);
  }
  try {
    await deps.queue.send(task);
  } catch (err) {
    await deps.invocations.forget(task.invocationId).catch(() => undefined);
    deps.metrics.invocations.inc({ function: task.function.name, outcome: "rejected" });
    throw new ApiError(
      "ServiceUnavailable",
      `task queue unavailable, nothing was accepted: ${(err as Error).message}`,
    );
  }
}

function checkCapacity(deps: AppDeps, isAsync: boolean): void {
  const depth = deps.queue.approximateDepth() ?? 0;
  if (depth >= deps.limits.maxQueueDepth) {
    throw new ApiError("TooManyRequests", `the platform is at capacity: ${depth} tasks queued; retry later`, {
      headers: { "retry-after": "1" },
    });
  }
  if (!isAsync && deps.results.size >= deps.limits.maxSyncWaiters) {
    throw new ApiError(
      "TooManyRequests",
      `too many synchronous invocations in flight (${deps.results.size}); retry later or invoke asynchronously`,
      {
        headers: { "retry-after": "1" },
      },
    );
  }
}

function bearerAuth(apiKey: string) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer (.+)$/i.exec(header);
    if (match?.[1] === undefined || !secretMatches(match[1], apiKey)) {
      throw new ApiError("Unauthorized", "missing or wrong API key: send 'Authorization: Bearer <key>'");
    }
    next();
  };
}

function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function functionNameParam(req: Request): string {
  const name = String(req.params.name ?? "");
  if (!FUNCTION_NAME_PATTERN.test(name)) {
    throw new ApiError(
      "BadRequest",
      `'${name}' is not a valid function name (1-64 letters, digits, '-' or '_')`,
    );
  }
  return name;
}

function rawText(req: Request): string {
  return Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError("BadRequest", `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

function parseJsonBody<T extends z.ZodType>(req: Request, schema: T): z.infer<T> {
  const text = rawText(req);
  if (text.trim() === "") throw new ApiError("BadRequest", "the request body is empty; send JSON");
  const parsed = schema.safeParse(parseJson(text, "the request body"));
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((i) => `${i.path.join(".") || "body"}: ${issueText(i)}`)
      .join("; ");
    throw new ApiError("BadRequest", `invalid request body: ${details}`);
  }
  return parsed.data;
}

/** The issue's message, with the reasons nested in it (a record key's refinement says why it failed). */
function issueText(issue: z.core.$ZodIssue): string {
  const nested = "issues" in issue && Array.isArray(issue.issues) ? issue.issues : [];
  return nested.length === 0 ? issue.message : `${issue.message} (${nested.map(issueText).join("; ")})`;
}

/** An empty body is the event `{}`, as when Lambda is invoked without a payload. */
function parseEvent(req: Request): unknown {
  const text = rawText(req);
  return text.trim() === "" ? {} : parseJson(text, "the event");
}

function checkSyntax(source: string): void {
  try {
    // Compiles without running: a syntax error is the deployer's mistake, so it is a 400 now, not a
    // failure at every invocation later.
    new Script(source, { filename: "index.js" });
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new ApiError("BadRequest", `the function source does not parse: ${err.message}`);
  }
}

function checkArchive(zipBase64: string, handler: string, maxUnpackedBytes: number): void {
  try {
    checkZip(Buffer.from(zipBase64, "base64"), handler, { maxUnpackedBytes });
  } catch (err) {
    if (err instanceof CodeArchiveError) throw new ApiError("BadRequest", err.message);
    throw err;
  }
}

function notFound(name: string): ApiError {
  return new ApiError(
    "NotFound",
    `function '${name}' does not exist; deploy it with PUT /api/functions/${name}`,
  );
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number; limit?: number; message?: string };
  if (e.type === "entity.too.large") {
    return new ApiError(
      "PayloadTooLarge",
      `the request body is larger than the limit of ${e.limit ?? "?"} bytes`,
    );
  }
  if (e.type === "request.aborted" || e.type === "entity.verify.failed" || e.status === 400) {
    return new ApiError("BadRequest", e.message ?? "bad request");
  }
  const name = (err as { name?: string }).name ?? "";
  const transient =
    /ECONNREFUSED|ETIMEDOUT|ECONNRESET|Connection is closed|Stream isn't writeable|EHOSTUNREACH|socket hang up|ServiceUnavailable/i;
  if (transient.test(String(err)) || transient.test(name)) {
    return new ApiError("ServiceUnavailable", `a backing service is unreachable: ${String(err)}`);
  }
  return new ApiError("InternalError", "internal error");
}
