import { z } from "zod";
import { boolVar, Env, intVar, parseEnv } from "../common/config";

/** An address to listen on: an IP literal, never a name to resolve or anything a shell would read. */
const bindHost = z.union([z.ipv4(), z.ipv6()], {
  error: "must be an IPv4 or IPv6 address such as 0.0.0.0 or 127.0.0.1",
});

/** Every variable the controller reads; docs/configuration.md describes each. */
export const CONTROLLER_SETTINGS = {
  FAAS_HOST: bindHost.default("0.0.0.0"),
  FAAS_PORT: intVar(8080, 1),
  FAAS_PRIVATE_PORT: intVar(0, 0),
  FAAS_PRIVATE_HOST: bindHost.optional(),
  FAAS_TLS_CERT_FILE: z.string().min(1).optional(),
  FAAS_TLS_KEY_FILE: z.string().min(1).optional(),
  FAAS_API_KEY: z.string().min(16, "FAAS_API_KEY must be at least 16 characters"),
  FAAS_WORKER_SECRET: z.string().min(16, "FAAS_WORKER_SECRET must be at least 16 characters"),
  FAAS_ENV_KEY: z.string().min(32, "FAAS_ENV_KEY must be at least 32 characters"),
  FAAS_REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  FAAS_QUEUE_URL: z.url(),
  FAAS_DLQ_URL: z.url().optional(),
  FAAS_DLQ_WAIT_S: intVar(20, 0),
  FAAS_DLQ_VISIBILITY_TIMEOUT_S: intVar(60, 1),
  FAAS_BUCKET: z.string().min(3),
  FAAS_TABLE: z.string().min(3),
  FAAS_EIP_ALLOCATION_ID: z.string().optional(),
  FAAS_EIP_TAG: z.string().default("faas-controller"),
  FAAS_CLAIM_EIP: boolVar(true),
  FAAS_EIP_MODE: z.enum(["boot", "lease"]).default("boot"),
  FAAS_LEASE_MS: intVar(2000, 100),
  FAAS_LEASE_RENEW_MS: intVar(500, 10),
  FAAS_DRAIN_MS: intVar(20_000, 0),
  FAAS_HEARTBEAT_INTERVAL_MS: intVar(10_000, 10),
  FAAS_WORKER_DEAD_AFTER_MS: intVar(30_000, 10),
  FAAS_SYNC_WAIT_EXTRA_MS: intVar(15_000),
  FAAS_MAX_EVENT_BYTES: intVar(200 * 1024, 1),
  FAAS_MAX_CODE_BYTES: intVar(10 * 1024 * 1024, 1),
  FAAS_MAX_UNPACKED_CODE_BYTES: intVar(250 * 1024 * 1024, 1),
  FAAS_INFLIGHT_GRACE_MS: intVar(60_000),
  FAAS_MAX_QUEUE_DEPTH: intVar(5000, 1),
  FAAS_MAX_SYNC_WAITERS: intVar(1000, 1),
  FAAS_QUEUE_SEND_CONCURRENCY: intVar(2, 1),
  FAAS_RESULT_TTL_SECONDS: intVar(86_400, 1),
  FAAS_IDEMPOTENCY_PENDING_STALE_MS: intVar(5000, 100),
  FAAS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z.string().optional(),
};

/** The controller's settings, validated; a bad value fails at start naming its variable. */
export function loadConfig(env: Env = process.env) {
  const raw = parseEnv(CONTROLLER_SETTINGS, env);
  if ((raw.FAAS_TLS_CERT_FILE === undefined) !== (raw.FAAS_TLS_KEY_FILE === undefined))
    throw new Error("FAAS_TLS_CERT_FILE and FAAS_TLS_KEY_FILE go together: set both (HTTPS) or neither");
  return {
    host: raw.FAAS_HOST,
    port: raw.FAAS_PORT,
    /** 0: one listener for everything; else the heartbeat is served only here (createApp's Surface). */
    privatePort: raw.FAAS_PRIVATE_PORT,
    /**
     * Where the private listener binds: FAAS_HOST unless set. Behind a TLS proxy on the same host (the
     * deploy's tls_mode = acme) the public API binds to loopback while the workers still reach this one.
     */
    privateHost: raw.FAAS_PRIVATE_HOST ?? raw.FAAS_HOST,
    /** PEM files: the public listener serves HTTPS with them (the private one stays plain, in the VPC). */
    tls:
      raw.FAAS_TLS_CERT_FILE !== undefined && raw.FAAS_TLS_KEY_FILE !== undefined
        ? { certFile: raw.FAAS_TLS_CERT_FILE, keyFile: raw.FAAS_TLS_KEY_FILE }
        : undefined,
    apiKey: raw.FAAS_API_KEY,
    workerSecret: raw.FAAS_WORKER_SECRET,
    envKey: raw.FAAS_ENV_KEY,
    redisUrl: raw.FAAS_REDIS_URL,
    queueUrl: raw.FAAS_QUEUE_URL,
    deadLetters: {
      queueUrl: raw.FAAS_DLQ_URL,
      waitTimeSeconds: raw.FAAS_DLQ_WAIT_S,
      visibilityTimeoutS: raw.FAAS_DLQ_VISIBILITY_TIMEOUT_S,
    },
    bucket: raw.FAAS_BUCKET,
    table: raw.FAAS_TABLE,
    eip: {
      claim: raw.FAAS_CLAIM_EIP,
      mode: raw.FAAS_EIP_MODE,
      allocationId: raw.FAAS_EIP_ALLOCATION_ID,
      tag: raw.FAAS_EIP_TAG,
    },
    lease: { leaseMs: raw.FAAS_LEASE_MS, renewMs: raw.FAAS_LEASE_RENEW_MS },
    drainMs: raw.FAAS_DRAIN_MS,
    heartbeatIntervalMs: raw.FAAS_HEARTBEAT_INTERVAL_MS,
    workerDeadAfterMs: raw.FAAS_WORKER_DEAD_AFTER_MS,
    syncWaitExtraMs: raw.FAAS_SYNC_WAIT_EXTRA_MS,
    maxEventBytes: raw.FAAS_MAX_EVENT_BYTES,
    maxCodeBytes: raw.FAAS_MAX_CODE_BYTES,
    maxUnpackedCodeBytes: raw.FAAS_MAX_UNPACKED_CODE_BYTES,
    inflightGraceMs: raw.FAAS_INFLIGHT_GRACE_MS,
    maxQueueDepth: raw.FAAS_MAX_QUEUE_DEPTH,
    maxSyncWaiters: raw.FAAS_MAX_SYNC_WAITERS,
    queueSendConcurrency: raw.FAAS_QUEUE_SEND_CONCURRENCY,
    resultTtlSeconds: raw.FAAS_RESULT_TTL_SECONDS,
    idempotencyPendingStaleMs: raw.FAAS_IDEMPOTENCY_PENDING_STALE_MS,
    logLevel: raw.FAAS_LOG_LEVEL,
    metadataEndpoint: raw.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  };
}
export type ControllerConfig = ReturnType<typeof loadConfig>;
