/**
 * One local cloud: the AWS emulator, Redis, the platform's AWS resources, the SQS endpoint (a TCP
 * proxy chaos can cut), the Elastic IP edge, and two Auto Scaling groups — a controller group of
 * exactly one and a worker group — kept at capacity by the reconciler. Each instance is registered
 * in the EC2 emulator and gets its own metadata server. Used by `faas dev`, the tests, the benchmark
 * and `make chaos-test` alike. Everything it starts carries the environment's id and is stopped by
 * `stop()` (or `await using`).
 *
 * Two runtimes, one surface: with the process runtime the infrastructure is host processes on
 * 127.0.0.1 (process-infrastructure.ts); with the Docker runtime it is a compose project and the
 * instances are containers (compose-infrastructure.ts, docker-runtime.ts).
 */
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
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
import { sweepWorkerCgroups } from "../services/worker/sandbox/cgroups";
import { CloudResources, createCloudResources } from "./cloud-resources";
import { ComposeInfrastructure } from "./compose-infrastructure";
import { DockerRuntime } from "./docker-runtime";
import { RETRY_BACKOFF, waitFor } from "./wait";
import {
  ElasticIpView,
  Infrastructure,
  InstancePlacement,
  QueueEndpoint,
  RestartableRedis,
  RuntimeKind,
} from "./infrastructure";
import { assertPortFree } from "./ports";
import { ProcessInfrastructure } from "./process-infrastructure";
import { ProcessRuntime } from "./process-runtime";
import { FAST_TIMING, Reconciler, ScalingActivity, ScalingTiming } from "./reconciler";
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
  /** Use this Redis instead of starting one (Redis chaos is then unavailable). */
  redisUrl?: string;
  workers: number;
  maxWorkers?: number;
  apiKey: string;
  workerSecret: string;
  /** Redis's password (generated when not given): only the controller and the workers hold it. */
  redisPassword?: string;
  /** The key that seals functions' env vars inside queued tasks (generated when not given). */
  envKey?: string;
  heartbeatIntervalMs?: number;
  workerDeadAfterMs?: number;
  visibilityTimeoutS?: number;
  maxReceiveCount?: number;
  workerSlots?: number;
  scaling?: ScalingTiming;
  logLevel?: string;
  controllerEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /**
   * Process runtime: run workers as this user (e.g. nobody), as a platform engineer without root
   * would; needs the emulator to be root. Their sandboxes then get namespaces without a uid each.
   */
  workerUser?: { uid: number; gid: number };
  /**
   * "process" (the default) or "docker", or a runtime object of either kind. Docker instances run on
   * compose-managed infrastructure; motoPort, redisPort, awsEndpoint and redisUrl apply to processes only.
   */
  runtime?: Runtime | RuntimeKind;
  /** Docker runtime: the tag of the faas/* images (default "local"). */
  imageTag?: string;
  onLog?: (source: string, line: string, stream: "stdout" | "stderr") => void;
  onActivity?: (activity: ScalingActivity) => void;
}

export type InstanceState = "pending" | "running" | "unhealthy" | "terminated";

export interface InstanceInfo {
  instanceId: string;
  role: Role;
  state: InstanceState;
  pid: number | undefined;
  port: number | undefined;
  privateIp: string;
  launchedAt: number;
  startedAt: number | undefined;
  paused: boolean;
  reason: string | undefined;
}

interface Instance extends InstanceInfo {
  handle: RunningInstance | undefined;
  placement: InstancePlacement;
  unhealthySince: number | undefined;
  failedChecks: number;
  /** Whether its health check ever succeeded. */
  answered: boolean;
  checkTimer: NodeJS.Timeout | undefined;
  bootTimer: NodeJS.Timeout | undefined;
}

/** Docker runtime: how much longer than the grace period a controller may take to answer first. */
const BOOT_ALLOWANCE_MS = 60_000;

export const GROUP = { controller: "faas-controller-asg", worker: "faas-worker-asg" } as const;

export class Environment {
  readonly instances = new Map<string, Instance>();
  readonly reconciler: Reconciler;
  private stopped = false;
  private workerLaunches = 0;

  private constructor(
    readonly envId: string,
    readonly options: EnvironmentOptions,
    readonly infrastructure: Infrastructure,
    readonly resources: CloudResources,
    readonly clients: {
      ec2: EC2Client;
      sqs: SQSClient;
      s3: S3Client;
      dynamo: DynamoDBClient;
      logs: CloudWatchLogsClient;
    },
    readonly edge: ElasticIpView,
    readonly runtime: Runtime,
  ) {
    this.reconciler = new Reconciler(
      [
        { name: GROUP.controller, role: "controller", min: 1, max: 1, desired: 1 },
        {
          name: GROUP.worker,
          role: "worker",
          min: Math.min(options.workers, 2),
          max: options.maxWorkers ?? Math.max(options.workers, 10),
          desired: options.workers,
        },
      ],
      {
        members: (role) =>
          [...this.instances.values()]
            .filter((i) => i.role === role && i.state !== "terminated")
            .map((i) => ({
              instanceId: i.instanceId,
              healthy: i.state !== "unhealthy",
              unhealthySince: i.unhealthySince,
              reason: i.reason,
            })),
        launch: (role, bootDelayMs) => this.launch(role, bootDelayMs),
        terminate: (id) => this.terminate(id),
      },
      options.scaling ?? FAST_TIMING,
      options.onActivity,
    );
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.options.edgePort}`;
  }

  get labels(): Record<string, string> {
    return { [LABEL_ENV]: this.envId };
  }

  /** The AWS emulator as this host reaches it. */
  get awsEndpoint(): string {
    return this.infrastructure.awsEndpoint;
  }

  /** Redis as this host reaches it. */
  get redisUrl(): string {
    return this.infrastructure.redisUrl;
  }

  /** Redis, when the environment owns it (chaos restarts it). */
  get redis(): RestartableRedis | undefined {
    return this.infrastructure.redis;
  }

  /** The SQS endpoint the instances use; chaos cuts it. */
  get queueEndpoint(): QueueEndpoint {
    return this.infrastructure.queueEndpoint;
  }

  /**
   * The queue URL as the instances see it: its host is the SQS endpoint, as private DNS makes the
   * regional SQS host resolve to the VPC endpoint (the SDK sends to the queue URL's host).
   */
  get queueUrlViaEndpoint(): string {
    return this.infrastructure.queueUrlForInstances(this.resources.queueUrl);
  }

  private get bootAllowanceMs(): number {
    return this.runtime.kind === "docker" ? BOOT_ALLOWANCE_MS : 0;
  }

  get timing(): ScalingTiming {
    return this.reconciler.timing;
  }

  /** Starts everything and launches the groups' instances; on any failure, stops what it had started. */
  static async start(options: EnvironmentOptions): Promise<Environment> {
    const envId = options.envId ?? `faas-${randomBytes(4).toString("hex")}`;
    const labels = { [LABEL_ENV]: envId };
    const log = options.onLog ?? (() => undefined);
    const prefix = options.prefix ?? "faas";
    const visibilityTimeoutS = options.visibilityTimeoutS ?? 30;
    const maxReceiveCount = options.maxReceiveCount ?? 5;
    const redisPassword = options.redisPassword ?? randomBytes(24).toString("base64url");
    options = { ...options, redisPassword, envKey: options.envKey ?? randomBytes(32).toString("base64url") };
    const runtime =
      typeof options.runtime === "object"
        ? options.runtime
        : options.runtime === "docker"
          ? new DockerRuntime({
              namePrefix: envId.replace(/[^a-z0-9]/gi, "").toLowerCase(),
              imageTag: options.imageTag,
            })
          : new ProcessRuntime();
    const cleanups: (() => Promise<void>)[] = [];
    try {
      await assertPortFree(options.edgePort, "the Elastic IP edge", "FAAS_EDGE_PORT");
      let infrastructure: Infrastructure;
      if (runtime instanceof DockerRuntime) {
        if (options.awsEndpoint !== undefined || options.redisUrl !== undefined)
          throw new Error("an external AWS endpoint or Redis works with the process runtime only");
        infrastructure = await ComposeInfrastructure.start({
          envId,
          prefix,
          edgePort: options.edgePort,
          visibilityTimeoutS,
          maxReceiveCount,
          runtime,
          imageTag: options.imageTag,
          redisPassword,
          onLog: log,
          processEnv: process.env,
        });
      } else {
        infrastructure = await ProcessInfrastructure.start({
          edgePort: options.edgePort,
          motoPort: options.motoPort,
          awsEndpoint: options.awsEndpoint,
          redisPort: options.redisPort,
          redisUrl: options.redisUrl,
          redisPassword,
          labels,
          onLog: log,
        });
      }
      cleanups.push(() => infrastructure.stop());

      const clientConfig = {
        endpoint: infrastructure.awsEndpoint,
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
      cleanups.push(() => {
        for (const client of Object.values(clients)) client.destroy();
        return Promise.resolve();
      });
      const create = () => createCloudResources(clients, { prefix, visibilityTimeoutS, maxReceiveCount });
      // moto in a container may still be importing its services when it first accepts connections.
      const resources =
        infrastructure.kind === "docker"
          ? await waitFor("the cloud resources to be created", create, {
              timeoutMs: 60_000,
              backoff: RETRY_BACKOFF,
            })
          : await create();

      const holder: { env?: Environment } = {};
      const edge = await infrastructure.startEdge(resources, clients.ec2, (id) => {
        const instance = holder.env?.instances.get(id);
        return instance !== undefined && instance.state !== "terminated" && instance.port !== undefined
          ? { host: "127.0.0.1", port: instance.port }
          : undefined;
      });
      cleanups.push(() => edge.stop());
      const env = new Environment(envId, options, infrastructure, resources, clients, edge, runtime);
      holder.env = env;
      cleanups.push(() => env.stopInstances());
      await env.reconciler.start();
      return env;
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw err;
    }
  }

  /**
   * RunInstances in the EC2 emulator, a metadata server, and — after the boot delay — the service.
   * Resolves with the new instance id once it is registered; the service starts later.
   */
  async launch(role: Role, bootDelayMs = 0): Promise<InstanceInfo> {
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
              { Key: "aws:autoscaling:groupName", Value: GROUP[role] },
            ],
          },
        ],
      }),
    );
    const ec2Instance = run.Instances?.[0];
    const instanceId = ec2Instance?.InstanceId ?? "";
    const privateIp = ec2Instance?.PrivateIpAddress ?? "10.0.0.10";
    const placement = await this.infrastructure.place({
      instanceId,
      role,
      privateIp,
      instanceType: ec2Instance?.InstanceType ?? "t3.micro",
      amiId: AMI_ID,
    });
    const instance: Instance = {
      instanceId,
      role,
      state: "pending",
      pid: undefined,
      port: placement.port,
      privateIp,
      launchedAt: Date.now(),
      startedAt: undefined,
      paused: false,
      reason: undefined,
      handle: undefined,
      placement,
      unhealthySince: undefined,
      failedChecks: 0,
      answered: false,
      checkTimer: undefined,
      bootTimer: undefined,
    };
    this.instances.set(instanceId, instance);
    const boot = async () => {
      if (instance.state !== "pending" || this.stopped) return;
      await this.boot(instance).catch((err: unknown) =>
        this.markUnhealthy(instance, `failed to boot: ${String(err)}`),
      );
    };
    if (bootDelayMs > 0) instance.bootTimer = setTimeout(() => void boot(), bootDelayMs);
    else await boot();
    return this.info(instance);
  }

  private async boot(instance: Instance): Promise<void> {
    const o = this.options;
    const where = await instance.placement.boot();
    const common: Record<string, string> = {
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_REGION: "us-east-1",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...where.env,
      FAAS_QUEUE_URL: this.queueUrlViaEndpoint,
      FAAS_BUCKET: this.resources.bucket,
      FAAS_WORKER_SECRET: o.workerSecret,
      FAAS_ENV_KEY: o.envKey ?? "",
      FAAS_HEARTBEAT_INTERVAL_MS: String(o.heartbeatIntervalMs ?? 10_000),
      FAAS_LOG_LEVEL: o.logLevel ?? "info",
    };
    const env: Record<string, string> =
      instance.role === "controller"
        ? {
            ...common,
            FAAS_API_KEY: o.apiKey,
            FAAS_TABLE: this.resources.table,
            FAAS_EIP_ALLOCATION_ID: this.resources.eipAllocationId,
            FAAS_DLQ_URL: this.infrastructure.queueUrlForInstances(this.resources.dlqUrl),
            FAAS_WORKER_DEAD_AFTER_MS: String(o.workerDeadAfterMs ?? 30_000),
            ...o.controllerEnv,
          }
        : {
            ...common,
            FAAS_WORKER_SLOTS: String(o.workerSlots ?? 4),
            FAAS_VISIBILITY_TIMEOUT_S: String(o.visibilityTimeoutS ?? 30),
            // Workers sharing this host must not share sandbox uids: a range of 1000 each.
            FAAS_SANDBOX_UID_BASE: String(100_000 + (this.workerLaunches++ % 100) * 1000),
            // Process instances unpack code under the environment's own folder, removed at stop even
            // when a worker was killed before it could clean up (containers keep theirs inside).
            ...(this.runtime.kind === "process"
              ? {
                  FAAS_CODE_DIR: path.join(this.codeRoot, instance.instanceId, "code"),
                  FAAS_SANDBOX_RUNTIME_DIR: path.join(this.codeRoot, instance.instanceId, "runtime"),
                }
              : {}),
            ...o.workerEnv,
          };
    const source = `${instance.role} ${instance.instanceId}`;
    const user = instance.role === "worker" && this.runtime.kind === "process" ? o.workerUser : undefined;
    if (user !== undefined && env.FAAS_CODE_DIR !== undefined) {
      const own = path.dirname(env.FAAS_CODE_DIR);
      mkdirSync(own, { recursive: true });
      chownSync(own, user.uid, user.gid);
    }
    const handle = await this.runtime.launch(
      { instanceId: instance.instanceId, role: instance.role, env, labels: this.labels, user, ...where.spec },
      (line, stream) => this.options.onLog?.(source, line, stream),
    );
    instance.handle = handle;
    instance.pid = handle.pid;
    instance.startedAt = Date.now();
    if (instance.state === "pending") instance.state = "running";
    void handle.exited.then(({ code, signal }) => {
      if (instance.state === "running" || instance.state === "pending") {
        this.markUnhealthy(instance, `process exited (${signal ?? `code ${code ?? "?"}`})`);
      }
    });
    if (instance.role === "controller") this.startHealthChecks(instance);
  }

  /** Controllers are checked like a load balancer would: GET /healthz on the instance itself. */
  private startHealthChecks(instance: Instance): void {
    const t = this.timing;
    instance.checkTimer = setInterval(() => {
      const handle = instance.handle;
      if (instance.state !== "running" || handle === undefined) return;
      const sinceStart = Date.now() - (instance.startedAt ?? 0);
      if (sinceStart < t.healthCheckGraceMs) return;
      void instance.placement
        .healthTarget(handle)
        .then(async (target) => {
          if (target === undefined) return false;
          const res = await fetch(`http://${target.host}:${target.port}/healthz`, {
            signal: AbortSignal.timeout(Math.min(2000, t.healthCheckIntervalMs)),
          });
          return res.ok;
        })
        .catch(() => false)
        .then((ok) => {
          if (ok) instance.answered = true;
          // A container boots slower than a process (and much slower on a loaded machine): until its
          // first answer, failures do not count for up to the boot allowance beyond the grace period.
          else if (!instance.answered && sinceStart < t.healthCheckGraceMs + this.bootAllowanceMs) return;
          instance.failedChecks = ok ? 0 : instance.failedChecks + 1;
          if (instance.failedChecks >= t.unhealthyThreshold && instance.state === "running") {
            this.markUnhealthy(instance, `health check failed ${instance.failedChecks} times in a row`);
          }
        });
    }, t.healthCheckIntervalMs);
  }

  private markUnhealthy(instance: Instance, reason: string): void {
    instance.state = "unhealthy";
    instance.reason = reason;
    instance.unhealthySince = Date.now();
    this.options.onLog?.(
      `${instance.role} ${instance.instanceId}`,
      `instance unhealthy: ${reason}`,
      "stderr",
    );
  }

  /**
   * Terminates an instance as EC2 does: the service stops, the instance is terminated in the EC2
   * emulator, and an Elastic IP it held is disassociated — which AWS does on termination but moto
   * does not.
   */
  async terminate(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance === undefined) throw new Error(`no instance ${instanceId}`);
    instance.state = "terminated";
    if (instance.checkTimer) clearInterval(instance.checkTimer);
    if (instance.bootTimer) clearTimeout(instance.bootTimer);
    await instance.handle?.stop(2000);
    await instance.placement.release();
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

  /** A crash: the instance's process dies by SIGKILL; the group notices and replaces it. */
  kill(instanceId: string): void {
    this.running(instanceId).handle?.signal("SIGKILL");
  }

  pause(instanceId: string): void {
    const i = this.running(instanceId);
    i.handle?.signal("SIGSTOP");
    i.paused = true;
  }

  resume(instanceId: string): void {
    const i = this.running(instanceId);
    i.handle?.signal("SIGCONT");
    i.paused = false;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((i) => this.info(i));
  }

  /** Instances of a role that are up (not terminated, not unhealthy). */
  live(role: Role): InstanceInfo[] {
    return this.list().filter((i) => i.role === role && (i.state === "running" || i.state === "pending"));
  }

  /** The instance the Elastic IP points to, as the edge last saw it. */
  get elasticIpHolder(): string | undefined {
    return this.edge.instanceId;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciler.stop();
    await this.stopInstances();
    await this.edge.stop();
    await this.infrastructure.stop();
    for (const client of Object.values(this.clients)) client.destroy();
    rmSync(this.codeRoot, { recursive: true, force: true });
    // Workers killed along the way left their (empty) sandbox cgroups behind.
    if (this.runtime.kind === "process") await sweepWorkerCgroups().catch(() => undefined);
  }

  /** Where process instances of this environment keep unpacked function code. */
  private get codeRoot(): string {
    return path.join(os.tmpdir(), `faas-code-${this.envId}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private running(instanceId: string): Instance {
    const instance = this.instances.get(instanceId);
    if (instance === undefined || instance.state === "terminated")
      throw new Error(`no live instance ${instanceId}`);
    return instance;
  }

  private async stopInstances(): Promise<void> {
    this.reconciler.stop();
    await Promise.allSettled(
      [...this.instances.values()].map(async (i) => {
        if (i.checkTimer) clearInterval(i.checkTimer);
        if (i.bootTimer) clearTimeout(i.bootTimer);
        if (i.state !== "terminated") i.state = "terminated";
        i.handle?.signal("SIGCONT");
        await i.handle?.stop();
        await i.placement.release();
      }),
    );
  }

  private info(i: Instance): InstanceInfo {
    return {
      instanceId: i.instanceId,
      role: i.role,
      state: i.state,
      pid: i.handle?.pid,
      port: i.port,
      privateIp: i.privateIp,
      launchedAt: i.launchedAt,
      startedAt: i.startedAt,
      paused: i.paused,
      reason: i.reason,
    };
  }
}
