import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { Env, intVar, parseEnv } from "../common/config";

/** Every variable the worker reads; docs/configuration.md describes each. */
export const WORKER_SETTINGS = {
  FAAS_CONTROLLER_URL: z.url(),
  FAAS_WORKER_SECRET: z.string().min(16, "FAAS_WORKER_SECRET must be at least 16 characters"),
  FAAS_ENV_KEY: z.string().min(32, "FAAS_ENV_KEY must be at least 32 characters"),
  FAAS_REDIS_URL: z.string().default("redis://127.0.0.1:6379"),
  FAAS_QUEUE_URL: z.url(),
  FAAS_BUCKET: z.string().min(3),
  FAAS_WORKER_ID: z.string().optional(),
  FAAS_WORKER_SLOTS: intVar(4, 1),
  FAAS_WORKER_POLLERS: intVar(2, 1),
  FAAS_HEARTBEAT_INTERVAL_MS: intVar(10_000, 10),
  FAAS_VISIBILITY_TIMEOUT_S: intVar(30, 1),
  FAAS_POLL_WAIT_S: intVar(20, 0),
  FAAS_RESULT_TTL_SECONDS: intVar(86_400, 1),
  FAAS_WARM_IDLE_MS: intVar(300_000, 0),
  FAAS_MAX_WARM_PROCESSES: intVar(16, 0),
  FAAS_SANDBOX: z.enum(["bwrap", "insecure-process"]).default("bwrap"),
  FAAS_SANDBOX_BWRAP: z.string().optional(),
  FAAS_SANDBOX_CGROUPS: z.enum(["auto", "required", "off"]).default("auto"),
  FAAS_SANDBOX_UID_BASE: intVar(100_000, 1000),
  FAAS_SANDBOX_UID_COUNT: intVar(1000, 1),
  FAAS_SANDBOX_TMP_MB: intVar(64, 1),
  FAAS_SANDBOX_CPUS: z.coerce.number().min(0.01).max(64).default(1),
  FAAS_SANDBOX_MAX_PIDS: intVar(128, 16),
  FAAS_SANDBOX_USER: z.string().default("nobody"),
  FAAS_MAX_UNPACKED_CODE_BYTES: intVar(250 * 1024 * 1024, 1),
  FAAS_CODE_DIR: z.string().optional(),
  FAAS_SANDBOX_RUNTIME_DIR: z.string().optional(),
  FAAS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z.string().optional(),
};

/** The worker's settings, validated; a bad value fails at start naming its variable. */
export function loadConfig(env: Env = process.env) {
  const raw = parseEnv(WORKER_SETTINGS, env);
  return {
    controllerUrl: raw.FAAS_CONTROLLER_URL.replace(/\/$/, ""),
    workerSecret: raw.FAAS_WORKER_SECRET,
    envKey: raw.FAAS_ENV_KEY,
    redisUrl: raw.FAAS_REDIS_URL,
    queueUrl: raw.FAAS_QUEUE_URL,
    bucket: raw.FAAS_BUCKET,
    workerId: raw.FAAS_WORKER_ID,
    slots: raw.FAAS_WORKER_SLOTS,
    pollers: Math.min(raw.FAAS_WORKER_POLLERS, raw.FAAS_WORKER_SLOTS),
    heartbeatIntervalMs: raw.FAAS_HEARTBEAT_INTERVAL_MS,
    visibilityTimeoutS: raw.FAAS_VISIBILITY_TIMEOUT_S,
    pollWaitS: Math.min(20, raw.FAAS_POLL_WAIT_S),
    resultTtlSeconds: raw.FAAS_RESULT_TTL_SECONDS,
    warmIdleMs: raw.FAAS_WARM_IDLE_MS,
    maxWarmProcesses: raw.FAAS_MAX_WARM_PROCESSES,
    sandbox: {
      mechanism: raw.FAAS_SANDBOX,
      bwrapPath: raw.FAAS_SANDBOX_BWRAP,
      cgroups: raw.FAAS_SANDBOX_CGROUPS,
      uidBase: raw.FAAS_SANDBOX_UID_BASE,
      uidCount: raw.FAAS_SANDBOX_UID_COUNT,
      tmpMb: raw.FAAS_SANDBOX_TMP_MB,
      cpus: raw.FAAS_SANDBOX_CPUS,
      maxPids: raw.FAAS_SANDBOX_MAX_PIDS,
      insecureUser: raw.FAAS_SANDBOX_USER,
    },
    maxUnpackedCodeBytes: raw.FAAS_MAX_UNPACKED_CODE_BYTES,
    codeDir: raw.FAAS_CODE_DIR ?? path.join(os.tmpdir(), `faas-worker-code-${process.pid}`),
    runtimeDir: raw.FAAS_SANDBOX_RUNTIME_DIR ?? path.join(os.tmpdir(), `faas-worker-runtime-${process.pid}`),
    logLevel: raw.FAAS_LOG_LEVEL,
    metadataEndpoint: raw.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  };
}
export type WorkerConfig = ReturnType<typeof loadConfig>;
