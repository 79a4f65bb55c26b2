/**
 * `POST /api/functions/{name}/invoke` and `GET /api/invocations/{id}`. An invocation is accepted only
 * once it is recorded in the store and the queue has taken its task; then it answers 202 at once
 * (asynchronous) or waits for the result (synchronous). With an `Idempotency-Key`, a repeat of the same
 * request gets the first one's invocation instead of a new one (docs/idempotency.md).
 */
import { randomUUID } from "node:crypto";
import { IRouter, RequestHandler, Response } from "express";
import { z } from "zod";
import { FunctionRecord, HEADER, InvocationResult, InvocationTask } from "../../../../contracts";
import { ExistingClaim, IdempotencyClaim, RecordOutcome } from "../../../common/invocation-store";
import {
  FunctionNotFoundError,
  IdempotencyKeyReusedError,
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
import { apiKeyScope, idempotencyClaim, idempotencyKeyHeader } from "../../idempotency";
import { functionNameParam, parseEvent } from "../request";

export function invocationRoutes(
  router: IRouter,
  deps: AppDeps,
  guards: { apiKey: RequestHandler; body: RequestHandler },
  functionCache: FunctionCache,
): void {
  const { apiKey, body: eventBody } = guards;
  const scope = apiKeyScope(deps.apiKey);

  router.post("/api/functions/:name/invoke", apiKey, eventBody, async (req, res) => {
    const name = functionNameParam(req);
    const key = idempotencyKeyHeader(req);
    const event = parseEvent(req);
    const fn = await functionCache.get(name);
    if (fn === undefined) throw new FunctionNotFoundError(name);
    const isAsync = req.get(HEADER.invocationType)?.toLowerCase() === "event" || req.query.async === "true";
    const mode = isAsync ? "async" : "sync";
    const claim =
      key === undefined
        ? undefined
        : idempotencyClaim(scope, name, key, mode, Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
    const request: InvokeRequest = { fn, event, mode, claim, waitMs: fn.timeoutMs + deps.syncWaitExtraMs };

    const accepted = await accept(deps, request);
    if (accepted.replayed) res.set(HEADER.idempotentReplayed, "true");
    if (accepted.result === undefined) {
      res
        .status(202)
        .location(`/api/invocations/${accepted.invocationId}`)
        .set(HEADER.invocationId, accepted.invocationId)
        .json({ invocationId: accepted.invocationId });
      return;
    }
    const result = await accepted.result;
    // Usually a no-op: the results channel released it already, but a result found by re-reading
    // the store after a reconnect never passes through the channel.
    if (result !== undefined) deps.inflight.release(accepted.invocationId);
    if (result === undefined) throw new SyncWaitTimeoutError(accepted.invocationId, request.waitMs);
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

interface InvokeRequest {
  fn: FunctionRecord;
  event: unknown;
  mode: "sync" | "async";
  /** The Idempotency-Key's claim, when the request has a key. */
  claim: IdempotencyClaim | undefined;
  waitMs: number;
}

interface Accepted {
  invocationId: string;
  /** The result to wait for (synchronous), or undefined (asynchronous: answer 202 now). */
  result: Promise<InvocationResult | undefined> | undefined;
  /** The invocation is the one an earlier request with this Idempotency-Key started. */
  replayed: boolean;
}

/**
 * How often a claim can vanish under a repeat (its first request's enqueue failed, and the key was then
 * claimed again) before the repeat gives up with a 503: each round is a real failure of the queue.
 */
const CLAIM_ROUNDS = 3;

/**
 * A new invocation, or with an Idempotency-Key that is already claimed, the invocation it names. The
 * claim rides on the invocation record's write (one Redis script), so a key costs no round trip more;
 * only a repeat reads more (docs/idempotency.md).
 */
async function accept(deps: AppDeps, request: InvokeRequest): Promise<Accepted> {
  for (let round = 0; ; round++) {
    const outcome = await acceptNew(deps, request);
    if (!("existing" in outcome)) return outcome;
    const attached = await attach(deps, request, outcome.existing);
    if (attached !== undefined) return attached;
    if (round + 1 >= CLAIM_ROUNDS) {
      throw new QueueUnavailableError(
        "the task queue refused this Idempotency-Key's invocation repeatedly; nothing was accepted, retry later",
      );
    }
  }
}

/** Admits, records (claiming the key) and enqueues a new invocation; or names the claim that holds the key. */
async function acceptNew(
  deps: AppDeps,
  { fn, event, mode, claim, waitMs }: InvokeRequest,
): Promise<Accepted | { existing: ExistingClaim }> {
  const invocationId = randomUUID();
  const refusal = admit(deps, fn, invocationId, mode, waitMs);
  if (refusal !== undefined) {
    // At capacity, a repeat still attaches to its invocation: it adds nothing to the queue.
    const existing =
      claim === undefined ? undefined : await storeCall(() => deps.invocations.findClaim(claim));
    if (existing !== undefined) return { existing };
    throw refusal;
  }
  const task = buildTask(deps, fn, invocationId, event, mode);
  const result = mode === "async" ? undefined : deps.results.wait(invocationId, waitMs);
  let recorded: RecordOutcome;
  try {
    recorded = await record(deps, task, claim);
  } catch (err) {
    deps.results.cancel(invocationId);
    deps.inflight.release(invocationId);
    throw err;
  }
  if (!recorded.recorded) {
    // Not a second invocation: nothing counts against the function's concurrency, nothing waits for this id.
    deps.results.cancel(invocationId);
    deps.inflight.release(invocationId);
    return { existing: recorded.existing };
  }
  try {
    await send(deps, task, claim, true);
  } catch (err) {
    deps.results.cancel(invocationId);
    deps.inflight.release(invocationId);
    throw err;
  }
  if (claim !== undefined) deps.invocations.markAccepted(invocationId, claim);
  deps.metrics.invocations.inc({ function: fn.name, outcome: "accepted" });
  return { invocationId, result, replayed: false };
}

/**
 * A repeat of an Idempotency-Key: the same request gets the first one's invocation (async: its id;
 * sync: its result, waiting while it runs), never a second one. While the first request is still
 * enqueueing, the repeat waits; when that enqueue fails the claim is withdrawn and the answer is
 * undefined (the caller claims the key afresh); when the claim stays pending past
 * `idempotency.pendingStaleMs` (its controller died between claim and accepted mark) the repeat
 * takes it over and enqueues the same invocation id again, which runs at most once.
 */
async function attach(
  deps: AppDeps,
  request: InvokeRequest,
  existing: ExistingClaim,
): Promise<Accepted | undefined> {
  const claim = request.claim;
  if (claim === undefined) throw new Error("attach needs a claim");
  if (existing.fingerprint !== claim.fingerprint) throw new IdempotencyKeyReusedError();
  const id = existing.invocationId;
  const { pendingStaleMs, pollMs } = deps.idempotency;
  const owner = randomUUID();
  let state: "pending" | "accepted" = existing.state;
  // A bound in case of clock trouble in Redis: a pending claim is taken over after pendingStaleMs.
  const giveUpAt = Date.now() + pendingStaleMs + 10_000;
  while (state !== "accepted") {
    if (Date.now() > giveUpAt) {
      throw new QueueUnavailableError(
        "the first request with this Idempotency-Key is still being enqueued; retry with the same key",
      );
    }
    await sleep(pollMs);
    const follow = await storeCall(() =>
      deps.invocations.followClaim(id, request.fn.name, claim, pendingStaleMs, owner),
    );
    if (follow.state === "gone") return undefined;
    if (follow.state === "taken") {
      if (follow.status === "queued") {
        deps.log.warn(
          { invocationId: id },
          "taking over an Idempotency-Key left pending; enqueueing it again",
        );
        await send(deps, buildTask(deps, request.fn, id, request.event, request.mode), claim, false);
      }
      deps.invocations.markAccepted(id, claim);
      break;
    }
    state = follow.state;
  }
  deps.metrics.invocations.inc({ function: request.fn.name, outcome: "replayed" });
  if (request.mode === "async") return { invocationId: id, result: undefined, replayed: true };
  const result = deps.results.wait(id, request.waitMs);
  // Registered first, so a result stored between this read and the wait cannot slip past.
  const stored = await deps.invocations.getResult(id).catch(() => undefined);
  if (stored !== undefined) deps.results.deliver(stored);
  return { invocationId: id, result, replayed: true };
}

function buildTask(
  deps: AppDeps,
  fn: FunctionRecord,
  invocationId: string,
  event: unknown,
  mode: "sync" | "async",
): InvocationTask {
  const { env, ...taskFunction } = fn;
  return {
    invocationId,
    function: taskFunction,
    sealedEnv: deps.envSealer.seal(env, { invocationId, functionName: fn.name, version: fn.version }),
    event,
    mode,
    enqueuedAt: Date.now(),
  };
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

/** Records the invocation (and claims its key); a failure is a 503 and nothing was accepted. */
function record(deps: AppDeps, task: InvocationTask, claim: IdempotencyClaim | undefined) {
  return storeCall(() =>
    deps.invocations.recordQueued(task.invocationId, task.function.name, task.enqueuedAt, claim),
  );
}

/**
 * Queues the task. When the queue does not take it, nothing was accepted: the caller gets a 503 and no
 * invocation id, and the record (and the key's claim, while still this request's) is withdrawn. A repeat
 * that took a claim over withdraws nothing (`withdraw` false): the claim stays pending for the next one.
 */
async function send(
  deps: AppDeps,
  task: InvocationTask,
  claim: IdempotencyClaim | undefined,
  withdraw: boolean,
): Promise<void> {
  try {
    await deps.queue.send(task);
  } catch (err) {
    if (withdraw) await deps.invocations.forget(task.invocationId, claim).catch(() => undefined);
    deps.metrics.invocations.inc({ function: task.function.name, outcome: "rejected" });
    throw new QueueUnavailableError(
      `task queue unavailable, nothing was accepted: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A store call whose failure, whatever it is, is a 503: the invocation records are unreachable. */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err;
    throw new StoreUnavailableError(`result store unreachable: ${String(err)}`, { cause: err });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Counts the invocation against its function's concurrency, or says why it cannot be taken now: the
 * queue is too deep, too many synchronous callers wait, or the function is at `maxConcurrency`.
 */
function admit(
  deps: AppDeps,
  fn: FunctionRecord,
  invocationId: string,
  mode: "sync" | "async",
  waitMs: number,
): TooManyRequestsError | undefined {
  const depth = deps.queue.approximateDepth() ?? 0;
  if (depth >= deps.limits.maxQueueDepth) {
    return new TooManyRequestsError(`the platform is at capacity: ${depth} tasks queued; retry later`);
  }
  if (mode === "sync" && deps.results.size >= deps.limits.maxSyncWaiters) {
    return new TooManyRequestsError(
      `too many synchronous invocations in flight (${deps.results.size}); retry later or invoke asynchronously`,
    );
  }
  if (!deps.inflight.admit(invocationId, fn.name, fn.maxConcurrency, waitMs + deps.inflightGraceMs)) {
    deps.metrics.invocations.inc({ function: fn.name, outcome: "throttled" });
    return new TooManyRequestsError(
      `function '${fn.name}' is at its concurrency limit of ${fn.maxConcurrency ?? "?"} invocations in flight (maxConcurrency); nothing was enqueued, retry later`,
    );
  }
  return undefined;
}
