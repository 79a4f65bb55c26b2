/**
 * One task message, from receipt to deletion. The order is what makes results exactly-once:
 * take the lease (skip if a result exists or another worker runs it), keep message and lease alive
 * while the function runs, store the result with SET NX, and only then delete the message. A worker
 * that dies at any point leaves a message that comes back after its visibility timeout and a lease that
 * expires with it, so another worker runs the task again and the attempt counter shows it.
 */
import { FunctionRecord, InvocationResult, InvocationTask } from "../../contracts";
import { Backoff, BackoffOptions, sleep } from "../common/backoff";
import { EnvSealError, EnvSealer } from "../common/env-seal";
import { InvocationStore } from "../common/invocation-store";
import { Logger } from "../common/logger";
import { CodeCache, CodeError, CodeTiming } from "./code-cache";
import { RunOutcome } from "./sandbox/sandbox-process";
import { TaskMessage, TaskSource } from "./task-source";

/** What the processor needs of the invocation store (InvocationStore in production). */
export type LeaseStore = Pick<InvocationStore, "acquireLease" | "extendLease" | "storeResult">;

/** One function runtime, as the processor uses it (a SandboxProcess in production). */
export interface FunctionRuntime {
  run(invocationId: string, event: unknown, timeoutMs: number): Promise<RunOutcome>;
  /** From its start to ready (init done), once it is ready: a cold start's share of the duration. */
  readonly initMs?: number;
}

/** Warm and cold runtimes of function versions (SandboxPool in production). */
export interface RuntimePool<R extends FunctionRuntime> {
  acquire(fn: FunctionRecord, codeDir: string): { proc: R; cold: boolean };
  release(proc: R, codeDir: string, reusable: boolean): Promise<void>;
}

export interface ProcessorDeps<R extends FunctionRuntime = FunctionRuntime> {
  workerId: string;
  envSealer: EnvSealer;
  source: TaskSource;
  visibilityTimeoutS: number;
  store: LeaseStore;
  code: Pick<CodeCache, "dirFor">;
  pool: RuntimePool<R>;
  log: Logger;
  signal: AbortSignal;
  /** Between attempts to store a result while Redis is unreachable. */
  storeBackoff?: BackoffOptions;
}

export async function processMessage<R extends FunctionRuntime>(
  deps: ProcessorDeps<R>,
  message: TaskMessage,
): Promise<void> {
  const received = Date.now();
  const receivedAt = performance.now();
  const receipt = message.receipt;
  const task = parseTask(message.body);
  if (task === undefined) {
    // A message that is not a task can never succeed: leave it to the redrive policy (DLQ).
    deps.log.error(
      { messageId: message.messageId },
      "message is not a valid task; leaving it for the dead-letter queue",
    );
    return;
  }
  const log = deps.log.child({ invocationId: task.invocationId, function: task.function.name });
  // The lease ends a little before the message becomes visible again, so the next receiver finds it free.
  const leaseMs = Math.max(500, Math.floor(deps.visibilityTimeoutS * 1000 * 0.8));

  const leasing = deps.store.acquireLease(task.invocationId, deps.workerId, leaseMs);
  // While Redis answers: open the env and find the code, neither of which changes anything (a
  // duplicate delivery wastes them). Their errors become the invocation's outcome once it is leased.
  const codeTiming: CodeTiming = {};
  const preparing = prepare(deps, task, codeTiming);
  preparing.catch(() => undefined);
  const leaseOutcome = await leasing;
  if (leaseOutcome === "finished") {
    log.info("duplicate delivery of a finished invocation: deleting it without running");
    await deleteMessage(deps, receipt);
    return;
  }
  if (leaseOutcome === "held") {
    log.info("another worker is running this invocation: hiding this copy until it finishes");
    await deps.source.extendVisibility(receipt, deps.visibilityTimeoutS).catch(() => undefined);
    return;
  }

  log.info({ attempt: message.receiveCount }, "invocation started");
  const lease = { lost: false };
  const keepAlive = setInterval(
    () => {
      void (async () => {
        await deps.source
          .extendVisibility(receipt, deps.visibilityTimeoutS)
          .catch((err: unknown) =>
            log.warn({ err: String(err) }, "could not extend the message's visibility"),
          );
        const held = await deps.store
          .extendLease(task.invocationId, deps.workerId, leaseMs)
          .catch(() => true);
        if (!held) lease.lost = true;
      })();
    },
    Math.max(200, (leaseMs / 3) | 0),
  );

  let outcome: RunOutcome;
  let cold = false;
  let initMs: number | undefined;
  try {
    const { fn, dir } = await preparing;
    const acquired = deps.pool.acquire(fn, dir);
    cold = acquired.cold;
    outcome = await acquired.proc.run(task.invocationId, task.event, task.function.timeoutMs);
    if (cold) initMs = acquired.proc.initMs;
    // Off the result's path: parking (stray-process check, freezing) finishes before the runtime is
    // handed to another invocation, but this one's caller does not wait for it.
    void deps.pool
      .release(acquired.proc, dir, outcome.status === "succeeded" && !lease.lost)
      .catch((err: unknown) => log.warn({ err: String(err) }, "could not park a function runtime"));
  } catch (err) {
    const known = err instanceof CodeError || err instanceof EnvSealError;
    outcome = {
      status: "failed",
      error: known
        ? { type: (err as Error).name, message: (err as Error).message }
        : { type: "WorkerError", message: `could not run the function: ${String(err)}` },
      logs: "",
      durationMs: 0,
    };
  } finally {
    clearInterval(keepAlive);
  }

  if (lease.lost) {
    log.warn("lost the lease while running (another worker took over): dropping this execution's result");
    return;
  }
  const result: InvocationResult = {
    invocationId: task.invocationId,
    function: task.function.name,
    status: outcome.status,
    result: outcome.status === "succeeded" ? outcome.value : undefined,
    error: outcome.error,
    workerId: deps.workerId,
    durationMs: outcome.durationMs,
    coldStart: cold,
    logs: outcome.logs,
    finishedAt: Date.now(),
  };
  const stored = await storeUntilDone(deps, result, receipt, log);
  log.info(
    {
      status: result.status,
      durationMs: result.durationMs,
      cold,
      codeFetchMs: codeTiming.fetchMs,
      codeUnpackMs: codeTiming.unpackMs,
      initMs,
      stored,
      queuedMs: received - task.enqueuedAt,
      handledMs: Math.round(performance.now() - receivedAt),
    },
    "invocation finished",
  );
  // The result is safe in Redis: the slot is free now, and the deletion joins the next batch. A
  // deletion that never happens only means the message comes back once and is deleted unrun.
  if (stored !== "lease-lost") void deleteMessage(deps, receipt);
}

/** The function with its env opened, and its code's folder (fetched and unpacked on a cold start). */
async function prepare(
  deps: Pick<ProcessorDeps, "envSealer" | "code">,
  task: InvocationTask,
  timing: CodeTiming,
): Promise<{ fn: FunctionRecord; dir: string }> {
  const fn: FunctionRecord = {
    ...task.function,
    env: deps.envSealer.open(task.sealedEnv, {
      invocationId: task.invocationId,
      functionName: task.function.name,
      version: task.function.version,
    }),
  };
  return { fn, dir: await deps.code.dirFor(fn, timing) };
}

/** A deletion that fails is only logged: the message comes back once, finds the result and is deleted unrun. */
function deleteMessage(deps: Pick<ProcessorDeps, "source" | "log">, receipt: string): Promise<void> {
  return deps.source
    .delete(receipt)
    .catch((err: unknown) => deps.log.warn({ err: String(err) }, "could not delete a finished message"));
}

/** Keep the message hidden and retry while Redis is unreachable: the result must not be lost. */
async function storeUntilDone(
  deps: Omit<ProcessorDeps, "pool">,
  result: InvocationResult,
  receipt: string,
  log: Logger,
): Promise<"stored" | "duplicate" | "lease-lost"> {
  const backoff = new Backoff(deps.storeBackoff ?? { initialMs: 100, maxMs: 2000 });
  let lastExtend = Date.now();
  for (;;) {
    try {
      return await deps.store.storeResult(result);
    } catch (err) {
      if (deps.signal.aborted) throw err;
      log.warn({ err: String(err) }, "could not store the result yet; retrying");
      if (Date.now() - lastExtend > (deps.visibilityTimeoutS * 1000) / 3) {
        lastExtend = Date.now();
        await deps.source.extendVisibility(receipt, deps.visibilityTimeoutS).catch(() => undefined);
      }
      await sleep(backoff.next());
    }
  }
}

function parseTask(body: string | undefined): InvocationTask | undefined {
  try {
    return InvocationTask.parse(JSON.parse(body ?? ""));
  } catch {
    return undefined;
  }
}
