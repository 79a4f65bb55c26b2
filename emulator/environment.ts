/**
 * One local cloud: the AWS emulator, Redis, the platform's AWS resources, a controller and its
 * workers as "instances" (each registered in the EC2 emulator with its own metadata server), and the
 * Elastic IP edge. Used by `faas dev`, the integration tests and the benchmark alike. Everything it
 * starts carries the environment's id and is stopped by `stop()` (or `await using`).
 */
import { randomBytes } from "node:crypto";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DescribeAddressesCommand,
  DisassociateAddressCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { AwsEmulator, startMoto } from "./aws-emulator";
import { CloudResources, createCloudResources } from "./cloud-resources";
import { ElasticIpEdge } from "./edge";
import { MetadataServer } from "./metadata-server";
import { assertPortFree, freePort } from "./ports";
import { ProcessRuntime } from "./process-runtime";
import { RedisHandle, startRedis } from "./redis-server";
import { Role, RunningInstance, Runtime } from "./runtime";

export const LABEL_ENV = "FAAS_ENV_ID";
const AMI_ID = "ami-faas-local";

export interface EnvironmentOptions {
  envId?: string;
  /** Resource names start with this (queue `<prefix>-tasks`, bucket `<prefix>-code`, ...). */
  prefix?: string;
  edgePort: number;
  motoPort?: number;
  /** Use this AWS endpoint instead of starting moto. */
  awsEndpoint?: string;
  redisPort?: number;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  workers: number;
  apiKey: string;
  workerSecret: string;
  heartbeatIntervalMs?: number;
  workerDeadAfterMs?: number;
  visibilityTimeoutS?: number;
  maxReceiveCount?: number;
  workerSlots?: number;
  logLevel?: string;
  controllerEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  runtime?: Runtime;
  onLog?: (source: string, line: string, stream: "stdout" | "stderr") => void;
}

export interface InstanceInfo {
  instanceId: string;
  role: Role;
  state: "running" | "stopped" | "terminated";
  pid: number | undefined;
  port: number | undefined;
  privateIp: string;
  launchedAt: number;
}

interface Instance extends InstanceInfo {
  handle: RunningInstance;
  metadata: MetadataServer;
}

export class Environment {
  readonly envId: string;
  readonly instances = new Map<string, Instance>();
  private stopped = false;

  private constructor(
    readonly options: EnvironmentOptions,
    readonly awsEndpoint: string,
    readonly redisUrl: string,
    readonly resources: CloudResources,
    readonly clients: {
      ec2: EC2Client;
      sqs: SQSClient;
      s3: S3Client;
      dynamo: DynamoDBClient;
      logs: CloudWatchLogsClient;
    },
    readonly edge: ElasticIpEdge,
    private readonly moto: AwsEmulator | undefined,
    private readonly redis: RedisHandle | undefined,
    readonly runtime: Runtime,
    envId: string,
  ) {
    this.envId = envId;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.edgePort}`;
  }

  get labels(): Record<string, string> {
    return { [LABEL_ENV]: this.envId };
  }

  /** Starts everything; on any failure, stops what it had started and rethrows. */
  static async start(options: EnvironmentOptions): Promise<Environment> {
    const envId = options.envId ?? `faas-${randomBytes(4).toString("hex")}`;
    const labels = { [LABEL_ENV]: envId };
    const log = options.onLog ?? (() => undefined);
    const cleanups: (() => Promise<void>)[] = [];
    try {
      await assertPortFree(options.edgePort, "the Elastic IP edge", "FAAS_EDGE_PORT");
      const [moto, redis] = await Promise.all([
        options.awsEndpoint === undefined
          ? startMoto(options.motoPort ?? 4566, labels, log)
          : Promise.resolve(undefined),
        options.redisUrl === undefined
          ? startRedis(options.redisPort ?? 6379, labels, log)
          : Promise.resolve(undefined),
      ]);
      if (moto) cleanups.push(() => moto.stop());
      if (redis) cleanups.push(() => redis.stop());
      const awsEndpoint = options.awsEndpoint ?? moto?.endpoint ?? "";
      const redisUrl = options.redisUrl ?? redis?.url ?? "";

      const clientConfig = {
        endpoint: awsEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      };
      const clients = {
        ec2: new EC2Client(clientConfig),
        sqs: new SQSClient(clientConfig),
        s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
        dynamo: new DynamoDBClient(clientConfig),
        logs: new CloudWatchLogsClient(clientConfig),
      };
      const resources = await createCloudResources(clients, {
        prefix: options.prefix ?? "faas",
        visibilityTimeoutS: options.visibilityTimeoutS ?? 30,
        maxReceiveCount: options.maxReceiveCount ?? 5,
      });

      const holder: { env?: Environment } = {};
      const edge = new ElasticIpEdge({
        port: options.edgePort,
        allocationId: resources.eipAllocationId,
        ec2: clients.ec2,
        targetOf: (id) => {
          const instance = holder.env?.instances.get(id);
          return instance?.state === "running" && instance.port !== undefined
            ? { host: "127.0.0.1", port: instance.port }
            : undefined;
        },
      });
      await edge.start();
      cleanups.push(() => edge.stop());
      const env = new Environment(
        options,
        awsEndpoint,
        redisUrl,
        resources,
        clients,
        edge,
        moto,
        redis,
        options.runtime ?? new ProcessRuntime(),
        envId,
      );
      holder.env = env;
      const started = env;
      cleanups.push(() => started.stopInstances());

      await env.launch("controller");
      await Promise.all(Array.from({ length: options.workers }, () => started.launch("worker")));
      return env;
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw err;
    }
  }

  /** Registers an instance in the EC2 emulator, gives it a metadata server, and starts it. */
  async launch(role: Role): Promise<InstanceInfo> {
    const o = this.options;
    const run = await this.clients.ec2.send(
      new RunInstancesCommand({
        ImageId: AMI_ID,
        InstanceType: role === "controller" ? "t3.micro" : "t4g.nano",
        MinCount: 1,
        MaxCount: 1,
        SubnetId: role === "controller" ? this.resources.publicSubnetId : this.resources.privateSubnetId,
        TagSpecifications: [
          {
            ResourceType: "instance",
            Tags: [
              { Key: "Name", Value: `faas-${role}` },
              { Key: "faas:role", Value: role },
              { Key: "faas:env", Value: this.envId },
            ],
          },
        ],
      }),
    );
    const ec2Instance = run.Instances?.[0];
    const instanceId = ec2Instance?.InstanceId ?? "";
    const privateIp = ec2Instance?.PrivateIpAddress ?? "10.0.0.10";
    const metadata = new MetadataServer({
      instanceId,
      availabilityZone: "us-east-1a",
      privateIp,
      instanceType: ec2Instance?.InstanceType ?? "t3.micro",
      amiId: AMI_ID,
    });
    const metadataEndpoint = await metadata.start();
    const port = role === "controller" ? await freePort() : undefined;
    const heartbeat = String(o.heartbeatIntervalMs ?? 10_000);
    const common: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL: this.awsEndpoint,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: metadataEndpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      FAAS_REDIS_URL: this.redisUrl,
      FAAS_QUEUE_URL: this.resources.queueUrl,
      FAAS_BUCKET: this.resources.bucket,
      FAAS_WORKER_SECRET: o.workerSecret,
      FAAS_HEARTBEAT_INTERVAL_MS: heartbeat,
      FAAS_LOG_LEVEL: o.logLevel ?? "info",
    };
    const env: Record<string, string> =
      role === "controller"
        ? {
            ...common,
            FAAS_HOST: "127.0.0.1",
            FAAS_PORT: String(port),
            FAAS_API_KEY: o.apiKey,
            FAAS_TABLE: this.resources.table,
            FAAS_EIP_ALLOCATION_ID: this.resources.eipAllocationId,
            FAAS_WORKER_DEAD_AFTER_MS: String(o.workerDeadAfterMs ?? 30_000),
            ...o.controllerEnv,
          }
        : {
            ...common,
            FAAS_CONTROLLER_URL: this.endpoint,
            FAAS_WORKER_SLOTS: String(o.workerSlots ?? 4),
            FAAS_VISIBILITY_TIMEOUT_S: String(o.visibilityTimeoutS ?? 30),
            ...o.workerEnv,
          };
    const source = `${role} ${instanceId}`;
    const handle = await this.runtime.launch({ instanceId, role, env, labels: this.labels }, (line, stream) =>
      this.options.onLog?.(source, line, stream),
    );
    const instance: Instance = {
      instanceId,
      role,
      state: "running",
      pid: handle.pid,
      port,
      privateIp,
      launchedAt: Date.now(),
      handle,
      metadata,
    };
    this.instances.set(instanceId, instance);
    void handle.exited.then(({ code, signal }) => {
      if (instance.state === "running") {
        instance.state = "stopped";
        this.options.onLog?.(
          source,
          `instance process exited (${signal ?? `code ${code ?? "?"}`})`,
          "stderr",
        );
      }
    });
    return this.info(instance);
  }

  /**
   * Terminates an instance as EC2 does: the process ends (SIGKILL when `kill` is set), the instance is
   * terminated in the EC2 emulator, and an Elastic IP it held is disassociated — which AWS does on
   * termination but moto does not.
   */
  async terminate(instanceId: string, kill = false): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Error(`no instance ${instanceId}`);
    instance.state = "terminated";
    if (kill) instance.handle.signal("SIGKILL");
    await instance.handle.stop(kill ? 0 : 5000);
    await instance.metadata.stop();
    const addresses = await this.clients.ec2.send(
      new DescribeAddressesCommand({ AllocationIds: [this.resources.eipAllocationId] }),
    );
    const address = addresses.Addresses?.[0];
    if (address?.InstanceId === instanceId && address.AssociationId) {
      await this.clients.ec2.send(new DisassociateAddressCommand({ AssociationId: address.AssociationId }));
    }
    await this.clients.ec2
      .send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }))
      .catch(() => undefined);
    await this.edge.refresh();
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((i) => this.info(i));
  }

  /** The instance the Elastic IP points to, as the edge last saw it. */
  get elasticIpHolder(): string | undefined {
    return this.edge.instanceId;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.stopInstances();
    await this.edge.stop();
    await Promise.allSettled([this.redis?.stop(), this.moto?.stop()]);
    for (const client of Object.values(this.clients)) client.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private async stopInstances(): Promise<void> {
    await Promise.allSettled(
      [...this.instances.values()].map(async (i) => {
        if (i.state === "running") i.state = "terminated";
        await i.handle.stop();
        await i.metadata.stop();
      }),
    );
  }

  private info(i: Instance): InstanceInfo {
    return {
      instanceId: i.instanceId,
      role: i.role,
      state: i.state,
      pid: i.handle.pid,
      port: i.port,
      privateIp: i.privateIp,
      launchedAt: i.launchedAt,
    };
  }
}
