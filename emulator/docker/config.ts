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
      FAAS_PREFIX: z.string().default("faas"),
      FAAS_ENV_ID: z.string().default("compose"),
      /** Given by a runtime that registered the instance itself; absent in compose, where we register. */
      FAAS_INSTANCE_ID: z.string().optional(),
      FAAS_PRIVATE_IP: z.string().default("10.0.0.10"),
      /** The name other containers reach this instance by (its network alias), recorded as a tag. */
      FAAS_INSTANCE_ADDRESS: z.string().optional(),
      FAAS_IMDS_PORT: intVar(1338, 1),
      FAAS_BOOTSTRAP_WAIT_MS: intVar(60_000, 0),
    },
    env,
  );
  return {
    role: raw.FAAS_ROLE,
    prefix: raw.FAAS_PREFIX,
    envId: raw.FAAS_ENV_ID,
    instanceId: raw.FAAS_INSTANCE_ID,
    privateIp: raw.FAAS_PRIVATE_IP,
    address: raw.FAAS_INSTANCE_ADDRESS,
    imdsPort: raw.FAAS_IMDS_PORT,
    waitMs: raw.FAAS_BOOTSTRAP_WAIT_MS,
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
    },
    env,
  );
  return {
    port: raw.FAAS_ENDPOINT_PORT,
    target: { host: raw.FAAS_ENDPOINT_TARGET_HOST, port: raw.FAAS_ENDPOINT_TARGET_PORT },
  };
}

/** AWS clients for the emulator's own entries; endpoint, region and credentials come from the SDK's env. */
export const TAG_ADDRESS = "faas:address";
