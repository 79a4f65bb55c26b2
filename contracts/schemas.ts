/**
 * Every message that crosses a process boundary, defined once. Controller, worker, CLI and tests
 * validate with these schemas at runtime and take their TypeScript types from them.
 */
import { z } from "zod";

export const FUNCTION_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const functionName = z
  .string()
  .regex(FUNCTION_NAME_PATTERN, "function names are 1-64 letters, digits, '-' or '_'");

/** Lambda-like limits: a function runs at most 15 minutes and gets 64 MiB to 4 GiB. */
export const MAX_TIMEOUT_MS = 900_000;
const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are identifiers");

/** Body of `PUT /api/functions/{name}`: exactly one of `source` (one JS file) or `zip` (base64). */
export const DeployFunctionRequest = z
  .object({
    source: z.string().min(1).optional(),
    zip: z.string().min(1).optional(),
    handler: z
      .string()
      .regex(/^[A-Za-z0-9_./-]+\.[A-Za-z_$][A-Za-z0-9_$]*$/, "handler is '<file without .js>.<export>'")
      .default("index.handler"),
    timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).default(3000),
    memoryMb: z.number().int().min(64).max(4096).default(128),
    env: z.record(envVarName, z.string()).default({}),
  })
  .strict()
  .refine((b) => (b.source === undefined) !== (b.zip === undefined), {
    message: "give exactly one of 'source' or 'zip'",
  });
export type DeployFunctionRequest = z.infer<typeof DeployFunctionRequest>;

/** A stored function version: metadata in DynamoDB, code in S3 under `codeKey`. */
export const FunctionRecord = z.object({
  name: functionName,
  version: z.number().int().positive(),
  codeSha256: z.string().regex(/^[0-9a-f]{64}$/),
  codeKey: z.string(),
  codeFormat: z.enum(["source", "zip"]),
  codeSize: z.number().int().nonnegative(),
  handler: z.string(),
  timeoutMs: z.number().int(),
  memoryMb: z.number().int(),
  env: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FunctionRecord = z.infer<typeof FunctionRecord>;

export const FunctionList = z.object({ functions: z.array(FunctionRecord) });
export type FunctionList = z.infer<typeof FunctionList>;

/** The SQS message body: everything a worker needs, pinned to the version current at enqueue time. */
export const InvocationTask = z.object({
  invocationId: z.uuid(),
  function: FunctionRecord,
  event: z.unknown(),
  mode: z.enum(["sync", "async"]),
  enqueuedAt: z.number(),
});
export type InvocationTask = z.infer<typeof InvocationTask>;

export const InvocationStatus = z.enum(["queued", "running", "succeeded", "failed", "timed_out"]);
export type InvocationStatus = z.infer<typeof InvocationStatus>;

export const FunctionErrorInfo = z.object({ type: z.string(), message: z.string() });
export type FunctionErrorInfo = z.infer<typeof FunctionErrorInfo>;

/** The terminal outcome a worker stores in Redis (once per invocation id) and publishes. */
export const InvocationResult = z.object({
  invocationId: z.uuid(),
  function: z.string(),
  status: z.enum(["succeeded", "failed", "timed_out"]),
  result: z.unknown().optional(),
  error: FunctionErrorInfo.optional(),
  workerId: z.string(),
  durationMs: z.number(),
  coldStart: z.boolean(),
  logs: z.string(),
  finishedAt: z.number(),
});
export type InvocationResult = z.infer<typeof InvocationResult>;

/** `GET /api/invocations/{id}` */
export const InvocationView = z.object({
  id: z.uuid(),
  function: z.string(),
  status: InvocationStatus,
  result: z.unknown().optional(),
  error: FunctionErrorInfo.nullable(),
  workerId: z.string().nullable(),
  attempts: z.number().int(),
  durationMs: z.number().nullable(),
  coldStart: z.boolean().nullable(),
  logs: z.string(),
  enqueuedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});
export type InvocationView = z.infer<typeof InvocationView>;

export const AsyncAccepted = z.object({ invocationId: z.uuid() });
export type AsyncAccepted = z.infer<typeof AsyncAccepted>;

/** `POST /api/worker/heartbeat`, every heartbeat interval. */
export const Heartbeat = z.object({
  workerId: z.string().min(1).max(128),
  instanceId: z.string().min(1).max(64),
  slotsTotal: z.number().int().nonnegative(),
  slotsInUse: z.number().int().nonnegative(),
  coldStarts: z.number().int().nonnegative(),
  warmStarts: z.number().int().nonnegative(),
  startedAt: z.number(),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const HeartbeatAck = z.object({
  controllerInstanceId: z.string(),
  heartbeatIntervalMs: z.number(),
  registered: z.enum(["new", "known"]),
});
export type HeartbeatAck = z.infer<typeof HeartbeatAck>;

export const WorkerView = z.object({
  workerId: z.string(),
  instanceId: z.string(),
  status: z.enum(["alive"]),
  secondsSinceHeartbeat: z.number(),
  slotsTotal: z.number(),
  slotsInUse: z.number(),
  coldStarts: z.number(),
  warmStarts: z.number(),
  registeredAt: z.number(),
});
export type WorkerView = z.infer<typeof WorkerView>;

/** `GET /api/workers`. `filling` is true until one heartbeat interval has passed since boot. */
export const WorkerList = z.object({
  controllerInstanceId: z.string(),
  filling: z.boolean(),
  heartbeatIntervalMs: z.number(),
  deadAfterMs: z.number(),
  workers: z.array(WorkerView),
});
export type WorkerList = z.infer<typeof WorkerList>;

export const Health = z.object({ status: z.literal("ok"), instanceId: z.string() });
export type Health = z.infer<typeof Health>;

export const ErrorCode = z.enum([
  "BadRequest",
  "Unauthorized",
  "NotFound",
  "Conflict",
  "PayloadTooLarge",
  "TooManyRequests",
  "FunctionError",
  "FunctionTimedOut",
  "ServiceUnavailable",
  "GatewayTimeout",
  "InternalError",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    invocationId: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Headers of a synchronous invocation's answer. */
export const HEADER = {
  invocationId: "x-invocation-id",
  workerId: "x-worker-id",
  durationMs: "x-duration-ms",
  coldStart: "x-cold-start",
  invocationType: "x-invocation-type",
  functionError: "x-function-error",
  workerSecret: "x-worker-secret",
} as const;
