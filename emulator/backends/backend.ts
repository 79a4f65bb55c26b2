/**
 * What an Environment stands on besides its instances: the AWS emulator, Redis, the SQS endpoint, the
 * Elastic IP edge, and where each instance finds them. Two implementations beside this interface:
 * host processes on 127.0.0.1 (`process-infrastructure.ts`, for the process runtime) and a compose
 * project on Docker networks (`compose-infrastructure.ts`, for the Docker runtime).
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { CloudResources } from "./cloud-resources";
import { InstanceSpec, Role, RunningInstance } from "./runtime";

export type RuntimeKind = "process" | "docker";

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

/** An instance's place in the network, from RunInstances until it is terminated. */
export interface InstancePlacement {
  /** The port its service listens on (controllers), for status and the process edge. */
  readonly port: number | undefined;
  /**
   * At boot: the part of the service's environment that says where the cloud is (endpoints, Redis,
   * queue, metadata, listen address, the controller's address for workers), and how the runtime
   * attaches the instance.
   */
  boot(): Promise<{ env: Record<string, string>; spec: Pick<InstanceSpec, "networks" | "privateIp"> }>;
  /** Where a load balancer reaches the running service, for the controller's health check. */
  healthTarget(handle: RunningInstance): Promise<{ host: string; port: number } | undefined>;
  release(): Promise<void>;
}

export interface InstanceIdentity {
  instanceId: string;
  role: Role;
  privateIp: string;
  instanceType: string;
  amiId: string;
}

export interface Infrastructure {
  readonly kind: RuntimeKind;
  /** The AWS emulator as this host reaches it (the environment's own clients use it). */
  readonly awsEndpoint: string;
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
    targetOf: (instanceId: string) => { host: string; port: number } | undefined,
  ): Promise<ElasticIpView>;
  place(identity: InstanceIdentity): Promise<InstancePlacement>;
  stop(): Promise<void>;
}
