import { EnvSealer } from "../../common/env-seal";
import { Logger } from "../../common/logger";
import { FunctionStore } from "../function-store";
import { InflightTracker } from "../inflight";
import { InvocationRecordsApi } from "../invocation-records";
import { KnownFunctions } from "../known-functions";
import { Metrics } from "../metrics";
import { ResultWaiter } from "../result-waiter";
import { TaskQueue } from "../task-queue";
import { WorkerRegistry } from "../worker-registry";

/** What the HTTP API is built from; main.ts wires the real ones, the unit tests fakes. */
/** Whether this controller serves the API now (main.ts: its role, and whether it is stopping). */
export type ServingState = "serving" | "standby" | "draining";

export interface AppDeps {
  instanceId: () => string;
  /** Serving, the standby of another controller, or stopping; "serving" when absent. */
  serving?: () => ServingState;
  apiKey: string;
  workerSecret: string;
  /** Seals each task's env vars; only workers (and this controller) hold its key. */
  envSealer: EnvSealer;
  functions: FunctionStore;
  queue: TaskQueue;
  invocations: InvocationRecordsApi;
  results: Pick<ResultWaiter, "wait" | "cancel" | "deliver" | "size">;
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
  /** Repeats of an Idempotency-Key (docs/idempotency.md). */
  idempotency: {
    /** A claim still pending after this long lost its controller: a repeat takes it over. */
    pendingStaleMs: number;
    /** How often a repeat looks at a pending claim. */
    pollMs: number;
  };
}
