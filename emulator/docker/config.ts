/**
 * Configuration of the emulator's container entries (bootstrap, instance network/metadata, edge), read
 * once from the environment. docs/docker.md lists every variable. The AWS SDK itself reads
 * AWS_ENDPOINT_URL, AWS_REGION and the credentials.
 */
import { z } from "zod";
import { Env, intVar, parseEnv } from "../../services/common/config";

export function loadBootstrapConfig(env: Env = process.env) {
  const raw = parseEnv(
    {
      FAAS_PREFIX: z.string().default("faas"),
      FAAS_VISIBILITY_TIMEOUT_S: intVar(30, 1),
      FAAS_MAX_RECEIVE_COUNT: intVar(5, 1),
      FAAS_BOOTSTRAP_WAIT_MS: intVar(60_000, 0),
    },
    env,
  );
  return {
    prefix: raw.FAAS_PREFIX,
    visibilityTimeoutS: raw.FAAS_VISIBILITY_TIMEOUT_S,
    maxReceiveCount: raw.FAAS_MAX_RECEIVE_COUNT,
    waitMs: raw.FAAS_BOOTSTRAP_WAIT_MS,
  };
}

export function loadInstanceNetworkConfig(env: Env = process.env) {
  const raw = parseEnv(
    {
      FAAS_ROLE: z.enum(["controller", "worker"]),
      /** The fleet registered the instance in the EC2 emulator before starting this container. */
      FAAS_INSTANCE_ID: z.string().min(1, "FAAS_INSTANCE_ID is required: the fleet registers the instance"),
      FAAS_PRIVATE_IP: z.string().default("10.0.0.10"),
      FAAS_IMDS_PORT: intVar(1338, 1),
    },
    env,
  );
  return {
    role: raw.FAAS_ROLE,
    instanceId: raw.FAAS_INSTANCE_ID,
    privateIp: raw.FAAS_PRIVATE_IP,
    imdsPort: raw.FAAS_IMDS_PORT,
  };
}

export function loadEdgeConfig(env: Env = process.env) {
  const raw = parseEnv(
    {
      FAAS_PREFIX: z.string().default("faas"),
      FAAS_EDGE_HOST: z.string().default("0.0.0.0"),
      FAAS_EDGE_PORT: intVar(8080, 1),
      FAAS_INSTANCE_PORT: intVar(8080, 1),
      FAAS_EDGE_REFRESH_MS: intVar(500, 10),
      FAAS_BOOTSTRAP_WAIT_MS: intVar(60_000, 0),
    },
    env,
  );
  return {
    prefix: raw.FAAS_PREFIX,
    host: raw.FAAS_EDGE_HOST,
    port: raw.FAAS_EDGE_PORT,
    instancePort: raw.FAAS_INSTANCE_PORT,
    refreshMs: raw.FAAS_EDGE_REFRESH_MS,
    waitMs: raw.FAAS_BOOTSTRAP_WAIT_MS,
  };
}

export function loadQueueEndpointConfig(env: Env = process.env) {
  const raw = parseEnv(
    {
      FAAS_ENDPOINT_PORT: intVar(5000, 1),
      FAAS_ENDPOINT_TARGET_HOST: z.string().default("aws"),
      FAAS_ENDPOINT_TARGET_PORT: intVar(5000, 1),
      /** When set, the queue service (emulator/queue) runs here on this port and the endpoint leads to it. */
      FAAS_QUEUE_SERVICE_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
    },
    env,
  );
  return {
    port: raw.FAAS_ENDPOINT_PORT,
    target: { host: raw.FAAS_ENDPOINT_TARGET_HOST, port: raw.FAAS_ENDPOINT_TARGET_PORT },
    queueServicePort: raw.FAAS_QUEUE_SERVICE_PORT,
  };
}

/** AWS clients for the emulator's own entries; endpoint, region and credentials come from the SDK's env. */

/**
 * The compose project's Auto Scaling groups (reconciler-main.ts): the platform's settings for the
 * instances it launches, which compose passes on from the same variables as the other services.
 */
export function loadReconcilerConfig(env: Env = process.env) {
  const raw = parseEnv(
    {
      FAAS_PREFIX: z.string().default("faas"),
      FAAS_ENV_ID: z.string().default("compose"),
      FAAS_IMAGE_TAG: z.string().default("local"),
      FAAS_WORKERS: intVar(2, 1),
      FAAS_MAX_WORKERS: intVar(10, 1),
      FAAS_SCALING: z.enum(["fast", "aws"]).default("fast"),
      FAAS_API_KEY: z.string().min(16, "FAAS_API_KEY must be at least 16 characters"),
      FAAS_WORKER_SECRET: z.string().min(16, "FAAS_WORKER_SECRET must be at least 16 characters"),
      FAAS_ENV_KEY: z.string().min(32, "FAAS_ENV_KEY must be at least 32 characters"),
      FAAS_REDIS_PASSWORD: z.string().min(1, "FAAS_REDIS_PASSWORD is required"),
      FAAS_HEARTBEAT_INTERVAL_MS: intVar(10_000, 10),
      FAAS_WORKER_DEAD_AFTER_MS: intVar(30_000, 10),
      FAAS_VISIBILITY_TIMEOUT_S: intVar(30, 1),
      FAAS_MAX_RECEIVE_COUNT: intVar(5, 1),
      FAAS_WORKER_SLOTS: intVar(4, 1),
      FAAS_POLL_WAIT_S: intVar(20, 0),
      FAAS_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
      FAAS_BOOTSTRAP_WAIT_MS: intVar(60_000, 0),
    },
    env,
  );
  return {
    prefix: raw.FAAS_PREFIX,
    envId: raw.FAAS_ENV_ID,
    imageTag: raw.FAAS_IMAGE_TAG,
    workers: raw.FAAS_WORKERS,
    maxWorkers: Math.max(raw.FAAS_MAX_WORKERS, raw.FAAS_WORKERS),
    scaling: raw.FAAS_SCALING,
    redisPassword: raw.FAAS_REDIS_PASSWORD,
    visibilityTimeoutS: raw.FAAS_VISIBILITY_TIMEOUT_S,
    maxReceiveCount: raw.FAAS_MAX_RECEIVE_COUNT,
    waitMs: raw.FAAS_BOOTSTRAP_WAIT_MS,
    platform: {
      apiKey: raw.FAAS_API_KEY,
      workerSecret: raw.FAAS_WORKER_SECRET,
      envKey: raw.FAAS_ENV_KEY,
      heartbeatIntervalMs: raw.FAAS_HEARTBEAT_INTERVAL_MS,
      workerDeadAfterMs: raw.FAAS_WORKER_DEAD_AFTER_MS,
      visibilityTimeoutS: raw.FAAS_VISIBILITY_TIMEOUT_S,
      workerSlots: raw.FAAS_WORKER_SLOTS,
      logLevel: raw.FAAS_LOG_LEVEL,
      workerEnv: { FAAS_POLL_WAIT_S: String(raw.FAAS_POLL_WAIT_S) },
    },
  };
}
