/**
 * What an Environment runs on: a Backend is the local cloud's substrate — the AWS emulator, Redis, the
 * SQS endpoint, the Elastic IP edge — and the way it starts an instance there. Two implementations,
 * each in its own folder: `process/` (host processes on 127.0.0.1) and `docker/` (a compose project,
 * instances as containers). The Environment, the fleet, chaos and the tests see only this interface;
 * nothing outside a backend's folder asks which one it has.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { CloudResources } from "../cloud-resources";
import { RunningInstance } from "./instance";
import type { ServiceEnv } from "../service-env";

export type { RunningInstance } from "./instance";
export type BackendKind = "process" | "docker";
export type Role = "controller" | "worker";

/** The SQS endpoint chaos can cut, as a VPC interface endpoint or its security group would fail. */
export interface QueueEndpoint {
  readonly cut: boolean;
  /** While cut, connections to SQS are refused and open ones reset. */
  setCut(cut: boolean): void | Promise<void>;
}

/** A Redis the environment owns, so chaos can restart it (its append-only file keeps the data). */
export interface RestartableRedis {
  readonly url: string;
  restart(downMs?: number, hard?: boolean): Promise<void>;
}

/** Who holds the Elastic IP, as the edge sees it. */
export interface ElasticIpView {
  readonly instanceId: string | undefined;
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** What RunInstances answered for a new instance. */
export interface InstanceIdentity {
  instanceId: string;
  role: Role;
  privateIp: string;
  instanceType: string;
  amiId: string;
}

/** An instance's place in the backend, from RunInstances until it is terminated. */
/**
 * A controller's two listeners: the public API, and the private one only workers reach (inside a VPC,
 * the Elastic IP's DNS name resolves to the holder's private address; locally, the private edge).
 */
export type Listener = "public" | "private";

export interface Placement {
  /** The port its service listens on (controllers), for the status table and the process edge. */
  readonly port: number | undefined;
  /**
   * A controller's private listener (FAAS_PRIVATE_PORT: the workers' heartbeat), reached through the
   * private edge; undefined where the backend gives it none (one listener serves everything).
   */
  readonly privatePort?: number;
  /**
   * Starts the service with the environment's settings for it plus the backend's own part: where the
   * cloud is (endpoints, Redis, metadata, listen address) and what the host needs (code folders).
   */
  start(
    service: ServiceEnv,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<RunningInstance>;
  /** Where a load balancer reaches the running service, for the controller's health check. */
  healthTarget(handle: RunningInstance): Promise<{ host: string; port: number } | undefined>;
  /** Frees what the placement holds (its metadata server); the service is stopped already. */
  release(): Promise<void>;
}

export interface Backend {
  /** For display only ("process runtime", "docker runtime"); never to branch on. */
  readonly kind: BackendKind;
  /**
   * How much longer than the health check's grace period a new controller may take to answer first:
   * a container boots slower than a process, and much slower on a loaded machine.
   */
  readonly bootAllowanceMs: number;
  /** The AWS emulator as this host reaches it (the environment's own clients use it). */
  readonly awsEndpoint: string;
  /** SQS as this host reaches it: the local queue service, or the AWS emulator's own SQS. */
  readonly sqsEndpoint: string;
  /** Redis as this host reaches it. */
  readonly redisUrl: string;
  /** Undefined when Redis is external (then Redis chaos is unavailable). */
  readonly redis: RestartableRedis | undefined;
  readonly queueEndpoint: QueueEndpoint;
  /** The queue URL as the instances see it: its host is the SQS endpoint. */
  queueUrlForInstances(queueUrl: string): string;
  /** Starts the Elastic IP edge once the address exists. */
  startEdge(
    resources: CloudResources,
    ec2: EC2Client,
    targetOf: (instanceId: string, listener: Listener) => { host: string; port: number } | undefined,
    options?: { remapDelayMs?: number },
  ): Promise<ElasticIpView>;
  place(identity: InstanceIdentity): Promise<Placement>;
  /**
   * The infrastructure's processes on this host (the AWS emulator, Redis, the queue, the instances'
   * log agents), for CPU accounting, named by component; empty when they run in containers.
   */
  hostProcesses(): { name: string; pid: number }[];
  /** Stops what the backend started and removes what its instances left on the host. */
  stop(): Promise<void>;
}

/** What every backend is started with; each backend's own options extend it. */
export interface BackendContext {
  envId: string;
  /** FAAS_ENV_ID=<envId>: on every process and container the backend starts, for cleanup by label. */
  labels: Record<string, string>;
  prefix: string;
  edgePort: number;
  visibilityTimeoutS: number;
  maxReceiveCount: number;
  /** Redis's password: the backend's Redis requires it; the instances get it in FAAS_REDIS_URL. */
  redisPassword: string;
  onLog: (source: string, line: string, stream: "stdout" | "stderr") => void;
}
