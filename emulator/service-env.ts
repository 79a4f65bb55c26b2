/**
 * The environment an instance's service starts with, typed by the services' own settings
 * (services/<role>/config.ts): a variable the service does not read is a compile error here, not a
 * setting that silently does nothing. Besides its own settings a service reads only what the AWS SDK
 * and Node read, listed below.
 */
import type { CloudResources } from "./cloud-resources";
import { CONTROLLER_SETTINGS, loadConfig as loadControllerConfig } from "../services/controller/config";
import { loadConfig as loadWorkerConfig, WORKER_SETTINGS } from "../services/worker/config";

/** Read by the AWS SDK, Node and the services' lifecycle (services/common/lifecycle.ts), not by their config. */
type HostVar =
  | "PATH"
  | "HOME"
  | "AWS_ACCESS_KEY_ID"
  | "AWS_SECRET_ACCESS_KEY"
  | "AWS_REGION"
  | "AWS_ENDPOINT_URL"
  | "AWS_ENDPOINT_URL_SQS"
  | "FAAS_EXIT_WITH_PARENT";

type Vars<Settings> = { [K in keyof Settings | HostVar]?: string };

export type ControllerEnv = Vars<typeof CONTROLLER_SETTINGS>;
export type WorkerEnv = Vars<typeof WORKER_SETTINGS>;

export type ServiceEnv = { role: "controller"; env: ControllerEnv } | { role: "worker"; env: WorkerEnv };

/**
 * The same service with a backend's part of its settings filled in (where the cloud is, host folders).
 * What the environment set wins: a caller's override of a backend default is deliberate.
 */
export function withBackendVars(service: ServiceEnv, vars: ControllerEnv & WorkerEnv): ServiceEnv {
  return service.role === "controller"
    ? { role: "controller", env: { ...vars, ...service.env } }
    : { role: "worker", env: { ...vars, ...service.env } };
}

/** As a process or container takes it: every variable that has a value. */
export function envRecord(service: ServiceEnv): Record<string, string> {
  const out: Record<string, string> = {};
  const vars: Record<string, string | undefined> = service.env;
  for (const [key, value] of Object.entries(vars)) if (value !== undefined) out[key] = value;
  return out;
}

/**
 * Validates the service's settings as the service itself will at start, so a bad value fails the
 * environment before anything runs rather than as a crash loop of replaced instances.
 */
export function checkServiceEnv(service: ServiceEnv): void {
  const env = envRecord(service);
  if (service.role === "controller") loadControllerConfig(env);
  else loadWorkerConfig(env);
}

/** The platform's settings for its services, as an environment (or the compose reconciler) has them. */
export interface PlatformSettings {
  apiKey: string;
  workerSecret: string;
  envKey?: string;
  heartbeatIntervalMs?: number;
  workerDeadAfterMs?: number;
  visibilityTimeoutS?: number;
  workerSlots?: number;
  logLevel?: string;
  /** A standby controller beside the active one: both claim the Elastic IP only through the lease. */
  standby?: boolean;
  /** The caller's settings of the controller's, on top of the platform's. */
  controllerEnv?: ControllerEnv;
  /** The caller's settings of the workers', on top of the platform's. */
  workerEnv?: WorkerEnv;
}

/** Where the services find the platform's resources, as the instances address them. */
export interface ResourceUrls {
  queueUrl: string;
  dlqUrl: string;
  bucket: string;
  table: string;
  eipAllocationId: string;
}

/** Where the services find the resources: the queues through the SQS endpoint the instances use. */
export function resourceUrls(
  resources: CloudResources,
  queueUrlForInstances: (url: string) => string,
): ResourceUrls {
  return {
    queueUrl: queueUrlForInstances(resources.queueUrl),
    dlqUrl: queueUrlForInstances(resources.dlqUrl),
    bucket: resources.bucket,
    table: resources.table,
    eipAllocationId: resources.eipAllocationId,
  };
}

/** Stand-ins for the resources' addresses while the settings are checked before anything exists. */
export const CHECK_URLS: ResourceUrls = {
  queueUrl: "http://sqs.invalid/000000000000/tasks",
  dlqUrl: "http://sqs.invalid/000000000000/dead-letters",
  bucket: "bucket",
  table: "table",
  eipAllocationId: "eipalloc-0",
};

/** What the backend adds, as stand-ins for the check (the controller's address comes from the backend). */
export const CHECK_BACKEND_VARS = { FAAS_CONTROLLER_URL: "http://controller.invalid" };

/** A service's settings: the environment's, then the caller's overrides (the backend adds where the cloud is). */
export function platformServiceEnv(
  o: PlatformSettings,
  role: "controller" | "worker",
  urls: ResourceUrls,
): ServiceEnv {
  const common = {
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    FAAS_QUEUE_URL: urls.queueUrl,
    FAAS_BUCKET: urls.bucket,
    FAAS_WORKER_SECRET: o.workerSecret,
    FAAS_ENV_KEY: o.envKey ?? "",
    FAAS_HEARTBEAT_INTERVAL_MS: String(o.heartbeatIntervalMs ?? 10_000),
    FAAS_LOG_LEVEL: o.logLevel ?? "info",
  };
  if (role === "controller")
    return {
      role,
      env: {
        ...common,
        FAAS_API_KEY: o.apiKey,
        FAAS_TABLE: urls.table,
        FAAS_EIP_ALLOCATION_ID: urls.eipAllocationId,
        FAAS_DLQ_URL: urls.dlqUrl,
        FAAS_WORKER_DEAD_AFTER_MS: String(o.workerDeadAfterMs ?? 30_000),
        ...(o.standby === true ? { FAAS_EIP_MODE: "lease" } : {}),
        ...o.controllerEnv,
      },
    };
  return {
    role,
    env: {
      ...common,
      FAAS_WORKER_SLOTS: String(o.workerSlots ?? 4),
      FAAS_VISIBILITY_TIMEOUT_S: String(o.visibilityTimeoutS ?? 30),
      ...o.workerEnv,
    },
  };
}
