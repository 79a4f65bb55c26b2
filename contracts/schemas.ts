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
/** A function's env vars, names and values together, as Lambda's 4 KB (they travel in every task). */
export const MAX_ENV_BYTES = 4096;
/** What one invocation may return: Lambda's 6 MB synchronous response. */
export const MAX_RESULT_BYTES = 6 * 1024 * 1024;

/**
 * A handler names an export of a module inside the function's code: `path/to/module.export`. Every
 * path segment starts with a letter, digit or `_`, so no absolute path, no `.` or `..`, and no hidden
 * file; the worker still resolves the module and refuses anything outside the code folder.
 */
export const HANDLER_PATTERN =
  /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*\.[A-Za-z_$][A-Za-z0-9_$]*$/;
export const handlerSpec = z
  .string()
  .max(256)
  .regex(
    HANDLER_PATTERN,
    "handler is '<module path inside the code, without .js>.<export>', e.g. 'index.handler' or 'src/app.main'",
  );

/** Splits a valid handler into the module path (relative, without `.js`) and the export name. */
export function parseHandler(handler: string): { module: string; exportName: string } {
  if (!HANDLER_PATTERN.test(handler)) throw new Error(`invalid handler '${handler}'`);
  const dot = handler.lastIndexOf(".");
  return { module: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** Names the runtime sets itself; a function may not override them. */
const RESERVED_ENV = /^(FAAS_|NODE_CHANNEL_|NODE_UNIQUE_ID$)/;
const envVarName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are identifiers")
  .refine((n) => !RESERVED_ENV.test(n), "names starting with FAAS_ or NODE_CHANNEL_ are reserved");

/** Bytes of env vars as counted against MAX_ENV_BYTES: every name and value in UTF-8. */
export function envBytes(env: Record<string, string>): number {
  let total = 0;
  for (const [k, v] of Object.entries(env)) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  return total;
}
const functionEnv = z.record(envVarName, z.string()).refine((env) => envBytes(env) <= MAX_ENV_BYTES, {
  message: `env vars take at most ${MAX_ENV_BYTES} bytes (names and values, UTF-8)`,
});

/** Body of `PUT /api/functions/{name}`: exactly one of `source` (one JS file) or `zip` (base64). */
export const DeployFunctionRequest = z
  .object({
    source: z.string().min(1).optional(),
    zip: z.string().min(1).optional(),
    handler: handlerSpec.default("index.handler"),
    timeoutMs: z.number().int().min(100).max(MAX_TIMEOUT_MS).default(3000),
    memoryMb: z.number().int().min(64).max(4096).default(128),
    env: functionEnv.default({}),
    /** At most this many invocations of the function in flight at once (Lambda's reserved concurrency). */
    maxConcurrency: z.number().int().min(1).max(10_000).optional(),
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
  handler: handlerSpec,
  timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS),
  memoryMb: z.number().int().min(64).max(4096),
  env: z.record(z.string(), z.string()),
  maxConcurrency: z.number().int().min(1).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type FunctionRecord = z.infer<typeof FunctionRecord>;

export const FunctionList = z.object({ functions: z.array(FunctionRecord) });
export type FunctionList = z.infer<typeof FunctionList>;

/** What a task says of its function: the version's record without its env vars, which travel sealed. */
export const TaskFunction = FunctionRecord.omit({ env: true });
export type TaskFunction = z.infer<typeof TaskFunction>;

/**
 * The SQS message body: everything a worker needs, pinned to the version current at enqueue time.
 * The function's env vars (its secrets) are sealed with the platform's env key (AES-256-GCM, bound to
 * this invocation id and version), so whoever reads the queue does not read them.
 */
export const InvocationTask = z.object({
  invocationId: z.uuid(),
  function: TaskFunction,
  sealedEnv: z.string(),
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

/**
 * Published instead of the result when the result is large (over RESULT_INLINE_BYTES): the subscriber
 * reads it from the store. A channel subscriber must never be handed megabytes at once: Redis drops a
 * subscriber whose output buffer passes its limit (32 MB), and with it every waiter's wake-up.
 */
export const ResultNotice = z.object({ invocationId: z.uuid(), notice: z.literal("stored") });
export type ResultNotice = z.infer<typeof ResultNotice>;
export const RESULT_INLINE_BYTES = 64 * 1024;

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

/** What a worker's function sandbox guarantees on its machine, as it found at boot (docs/isolation.md). */
export const SandboxGuarantees = z.object({
  /** `bwrap`: namespaces and the rest below; `insecure-process`: a plain child process (opt-in only). */
  mechanism: z.enum(["bwrap", "insecure-process"]),
  /** Each function process runs as a host uid of its own (the worker runs as root). */
  uidPerSandbox: z.boolean(),
  namespaces: z.array(z.string().max(16)).max(8),
  /** The cgroup controllers capping each sandbox and all its processes (empty: RSS watchdog only). */
  cgroups: z.array(z.string().max(16)).max(8),
  network: z.enum(["none", "host"]),
  /** A seccomp filter denies the kernel interfaces functions never need (sandbox/seccomp.ts). */
  seccomp: z.boolean().optional(),
  tmpMb: z.number().int().nonnegative(),
  notes: z.array(z.string().max(300)).max(8),
});
export type SandboxGuarantees = z.infer<typeof SandboxGuarantees>;

/** `POST /api/worker/heartbeat`, every heartbeat interval. */
export const Heartbeat = z.object({
  workerId: z.string().min(1).max(128),
  instanceId: z.string().min(1).max(64),
  slotsTotal: z.number().int().nonnegative(),
  slotsInUse: z.number().int().nonnegative(),
  coldStarts: z.number().int().nonnegative(),
  warmStarts: z.number().int().nonnegative(),
  startedAt: z.number(),
  sandbox: SandboxGuarantees.optional(),
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
  sandbox: SandboxGuarantees.optional(),
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

/** `serving`: this controller serves the API; `standby`: another holds the Elastic IP; `draining`: stopping. */
export const Health = z.object({
  status: z.literal("ok"),
  instanceId: z.string(),
  serving: z.enum(["serving", "standby", "draining"]),
});
export type Health = z.infer<typeof Health>;

export const ErrorCode = z.enum([
  "BadRequest",
  "Unauthorized",
  "NotFound",
  "Conflict",
  "PayloadTooLarge",
  "TooManyRequests",
  "IdempotencyKeyReused",
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

/**
 * `Idempotency-Key` on `POST /api/functions/{name}/invoke` (IETF httpapi draft "The Idempotency-Key
 * HTTP Header Field"): the draft's value is a Structured Field string, so a quoted form is accepted
 * and unquoted; a bare token is accepted as well, since most clients send one. What remains is 1 to
 * MAX_IDEMPOTENCY_KEY_CHARS visible ASCII characters without quotes, backslashes, commas or spaces
 * (a comma would mean the header came twice and was joined). Anything else is a 400.
 */
export const MAX_IDEMPOTENCY_KEY_CHARS = 255;
export const IdempotencyKey = z
  .string()
  .transform((raw) => (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw))
  .pipe(
    z
      .string()
      .min(1, "the Idempotency-Key is empty")
      .max(
        MAX_IDEMPOTENCY_KEY_CHARS,
        `an Idempotency-Key has at most ${MAX_IDEMPOTENCY_KEY_CHARS} characters`,
      )
      .regex(
        /^[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+$/,
        "an Idempotency-Key is visible ASCII without quotes, backslashes, commas or spaces (a UUID, say), sent once",
      ),
  );
export type IdempotencyKey = z.infer<typeof IdempotencyKey>;

/** Headers of a synchronous invocation's answer, and of the invoke request. */
export const HEADER = {
  invocationId: "x-invocation-id",
  workerId: "x-worker-id",
  durationMs: "x-duration-ms",
  coldStart: "x-cold-start",
  invocationType: "x-invocation-type",
  functionError: "x-function-error",
  workerSecret: "x-worker-secret",
  idempotencyKey: "idempotency-key",
  /** "true" on an answer to a repeated Idempotency-Key: the invocation is the first request's. */
  idempotentReplayed: "idempotent-replayed",
} as const;
