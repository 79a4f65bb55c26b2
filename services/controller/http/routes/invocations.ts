/**
 * `POST /api/functions/{name}/invoke` and `GET /api/invocations/{id}`. An invocation is accepted only
 * once it is recorded in the store and the queue has taken its task; then it answers 202 at once
 * (asynchronous) or waits for the result (synchronous).
 */
import { randomUUID } from "node:crypto";
import { IRouter, RequestHandler, Response } from "express";
import { z } from "zod";
import { HEADER, InvocationResult, InvocationTask } from "../../../../contracts";
import {
  FunctionNotFoundError,
  InvalidRequestError,
  NotFoundError,
  QueueUnavailableError,
  StoreUnavailableError,
  SyncWaitTimeoutError,
  TooManyRequestsError,
} from "../../errors";
import { AppDeps } from "../deps";
import { errorBody, STATUS } from "../error-response";
import { FunctionCache } from "../function-cache";
import { functionNameParam, parseEvent } from "../request";

export function invocationRoutes(
  router: IRouter,
  deps: AppDeps,
  guards: { apiKey: RequestHandler; body: RequestHandler },
  functionCache: FunctionCache,
): void {
  const { apiKey, body: eventBody } = guards;

  router.post("/api/functions/:name/invoke", apiKey, eventBody, async (req, res) => {
    const name = functionNameParam(req);
    const event = parseEvent(req);
    const fn = await functionCache.get(name);
    if (fn === undefined) throw new FunctionNotFoundError(name);
    const isAsync = req.get(HEADER.invocationType)?.toLowerCase() === "event" || req.query.async === "true";
    checkCapacity(deps, isAsync);

    const invocationId = randomUUID();
    const waitMs = fn.timeoutMs + deps.syncWaitExtraMs;
    if (!deps.inflight.admit(invocationId, name, fn.maxConcurrency, waitMs + deps.inflightGraceMs)) {
      deps.metrics.invocations.inc({ function: name, outcome: "throttled" });
      throw new TooManyRequestsError(
        `function '${name}' is at its concurrency limit of ${fn.maxConcurrency ?? "?"} invocations in flight (maxConcurrency); nothing was enqueued, retry later`,
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
    if (result === undefined) throw new SyncWaitTimeoutError(invocationId, waitMs);
    sendResult(res, result);
  });

  router.get("/api/invocations/:id", apiKey, async (req, res) => {
    const id = String(req.params.id ?? "");
    if (!z.uuid().safeParse(id).success) throw new InvalidRequestError("invocation ids are UUIDs");
    const view = await deps.invocations.view(id);
    if (view === undefined) throw new NotFoundError(`no invocation '${id}' (results expire after their TTL)`);
    res.json(view);
  });
}

/** The function's own outcome: its return value, or its failure with `X-Function-Error: Unhandled`. */
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
  const body = errorBody(code, result.error?.message ?? result.status, result.invocationId);
  res
    .status(STATUS[code])
    .set(HEADER.functionError, "Unhandled")
    .json({ ...body, errorType: result.error?.type, logs: result.logs });
}

/**
 * Records the invocation, then queues its task. Whichever step fails, and for whatever reason, nothing
 * was accepted: the caller gets a 503 and no invocation id, and the record is withdrawn.
 */
async function enqueue(deps: AppDeps, task: InvocationTask): Promise<void> {
  try {
    await deps.invocations.recordQueued(task.invocationId, task.function.name, task.enqueuedAt);
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(`result store unreachable: ${String(err)}`, { cause: err });
  }
  try {
    await deps.queue.send(task);
  } catch (err) {
    await deps.invocations.forget(task.invocationId).catch(() => undefined);
    deps.metrics.invocations.inc({ function: task.function.name, outcome: "rejected" });
    throw new QueueUnavailableError(
      `task queue unavailable, nothing was accepted: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function checkCapacity(deps: AppDeps, isAsync: boolean): void {
  const depth = deps.queue.approximateDepth() ?? 0;
  if (depth >= deps.limits.maxQueueDepth) {
    throw new TooManyRequestsError(`the platform is at capacity: ${depth} tasks queued; retry later`);
  }
  if (!isAsync && deps.results.size >= deps.limits.maxSyncWaiters) {
    throw new TooManyRequestsError(
      `too many synchronous invocations in flight (${deps.results.size}); retry later or invoke asynchronously`,
    );
  }
}
