/**
 * The Docker backend: the infrastructure is a compose project (compose.ts) and each instance is a pair
 * of containers on its networks (containers.ts): controllers on the public and private networks,
 * workers on the private one only, reaching everything by network alias as through VPC endpoints.
 * Each instance also has its log file on this host and its CloudWatch agent's container
 * (agent-container.ts), except in a compose project's reconciler (`attachTo`), whose folders are not
 * this host's, so a bind mount cannot share them (docs/logs.md).
 */
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import Docker from "dockerode";
import { CloudResources } from "../../cloud-resources";
import { SandboxUidRanges } from "../../sandbox-uids";
import { envRecord, withBackendVars } from "../../service-env";
import { httpAnswers, waitFor } from "../../wait";
import { Backend, BackendContext, ElasticIpView, InstanceIdentity, Placement } from "../backend";
import { RunningInstance } from "../instance";
import { ComposeProject, ComposeServices, ElasticIpWatch, ipOn, RunningProject } from "./compose";
import { DockerInstance, DockerRuntime } from "./containers";

export interface DockerBackendOptions {
  /** The tag of the faas/* images (default "local"). */
  imageTag?: string;
  /**
   * Run in a compose project that is already up, instead of starting one: the reconciler service of
   * compose/docker-compose.yml does (emulator/docker/reconciler-main.ts).
   */
  attachTo?: string;
  docker?: Docker;
  /** How long the compose services may take to accept connections (default 60 s). */
  startTimeoutMs?: number;
}

const INSTANCE_PORT = 8080;
/** A container boots slower than a process, and much slower on a loaded machine. */
const BOOT_ALLOWANCE_MS = 60_000;

export class DockerBackend implements Backend {
  readonly kind = "docker" as const;
  readonly bootAllowanceMs = BOOT_ALLOWANCE_MS;
  private watch: ElasticIpWatch | undefined;
  /** Containers share the host's uids (no user namespace): each worker holds a range of its own. */
  private readonly uidRanges = new SandboxUidRanges();

  private constructor(
    private readonly context: BackendContext,
    private readonly options: DockerBackendOptions,
    readonly runtime: DockerRuntime,
    readonly compose: ComposeServices,
  ) {}

  static async start(context: BackendContext, options: DockerBackendOptions = {}): Promise<DockerBackend> {
    const runtime = new DockerRuntime({
      docker: options.docker,
      namePrefix: options.attachTo ?? context.envId.replace(/[^a-z0-9]/gi, "").toLowerCase(),
      imageTag: options.imageTag,
    });
    if (options.attachTo !== undefined) {
      const running = await RunningProject.find(runtime.docker, options.attachTo, context.redisPassword);
      return new DockerBackend(context, options, runtime, running);
    }
    const compose = await ComposeProject.start({
      envId: context.envId,
      prefix: context.prefix,
      edgePort: context.edgePort,
      visibilityTimeoutS: context.visibilityTimeoutS,
      maxReceiveCount: context.maxReceiveCount,
      runtime,
      imageTag: options.imageTag,
      redisPassword: context.redisPassword,
      onLog: context.onLog,
      processEnv: process.env,
      startTimeoutMs: options.startTimeoutMs,
    });
    return new DockerBackend(context, options, runtime, compose);
  }

  get awsEndpoint(): string {
    return this.compose.awsEndpoint;
  }

  get redisUrl(): string {
    return this.compose.redisUrl;
  }

  get sqsEndpoint(): string {
    return this.compose.sqsEndpoint;
  }

  get redis() {
    return this.compose.redis;
  }

  get queueEndpoint() {
    return this.compose.queueEndpoint;
  }

  queueUrlForInstances(queueUrl: string): string {
    const url = new URL(queueUrl);
    url.host = "sqs:5000";
    return url.toString();
  }

  /** The edge container is up already; it serves once it finds the address. */
  async startEdge(resources: CloudResources, ec2: EC2Client): Promise<ElasticIpView> {
    if (this.compose instanceof ComposeProject) await this.edgeAnswers(this.compose);
    this.watch = new ElasticIpWatch(ec2, resources.eipAllocationId);
    await this.watch.start();
    return this.watch;
  }

  private async edgeAnswers(compose: ComposeProject): Promise<void> {
    const edge = compose.containers.edge;
    // docker-proxy accepts on the published port even before the edge listens, so ask for an answer.
    await waitFor(
      `the edge container to answer on 127.0.0.1:${this.context.edgePort}`,
      httpAnswers(`http://127.0.0.1:${this.context.edgePort}/healthz`, { accept: () => true }),
      {
        timeoutMs: this.options.startTimeoutMs ?? 60_000,
        intervalMs: 200,
      },
    ).catch(async (err: unknown) => {
      const state = await edge.inspect().catch(() => undefined);
      throw new Error(`${String(err)} (edge container: ${state?.State.Status ?? "gone"})`, { cause: err });
    });
  }

  async place(identity: InstanceIdentity): Promise<Placement> {
    const controller = identity.role === "controller";
    const network = (name: "public" | "private") => this.compose.network(name);
    let target: { host: string; port: number } | undefined;
    const uidBase = controller ? undefined : await this.uidRanges.take();
    return {
      port: controller ? INSTANCE_PORT : undefined,
      start: (service, onLine) => {
        const full = withBackendVars(service, {
          AWS_ENDPOINT_URL: "http://aws:5000",
          AWS_ENDPOINT_URL_SQS: "http://sqs:5000",
          FAAS_REDIS_URL: `redis://:${encodeURIComponent(this.context.redisPassword)}@redis:6379`,
          ...(uidBase === undefined
            ? { FAAS_HOST: "0.0.0.0", FAAS_PORT: String(INSTANCE_PORT) }
            : {
                FAAS_CONTROLLER_URL: `http://controller:${INSTANCE_PORT}`,
                FAAS_SANDBOX_UID_BASE: String(uidBase),
                FAAS_SANDBOX_UID_COUNT: String(this.uidRanges.options.size),
              }),
        });
        return this.runtime.launch(
          {
            instanceId: identity.instanceId,
            role: identity.role,
            env: envRecord(full),
            labels: this.context.labels,
            privateIp: identity.privateIp,
            networks: controller
              ? [{ name: network("public") }, { name: network("private") }]
              : [{ name: network("private") }],
            logAgent:
              this.options.attachTo !== undefined
                ? undefined
                : {
                    instanceRoot: path.join(this.instancesRoot, identity.instanceId),
                    logGroup: `/${this.context.prefix}/${identity.role}`,
                    network: this.compose.network("cloud"),
                    onLine: (line, stream) =>
                      this.context.onLog(`agent ${identity.instanceId}`, line, stream),
                  },
          },
          onLine,
        );
      },
      // As a load balancer in the public subnet would: the instance's public-network address.
      healthTarget: async (handle: RunningInstance) => {
        if (target === undefined && handle instanceof DockerInstance) {
          const ip = await ipOn(handle.eni, network("public")).catch(() => "");
          if (ip !== "") target = { host: ip, port: INSTANCE_PORT };
        }
        return target;
      },
      release: () => (uidBase === undefined ? Promise.resolve() : this.uidRanges.release(uidBase)),
    };
  }

  hostProcesses(): { name: string; pid: number }[] {
    return [];
  }

  /** Where this environment's instances keep their log files and agent state (as the process backend). */
  private get instancesRoot(): string {
    return path.join(os.tmpdir(), `faas-instances-${this.context.envId}`);
  }

  async stop(): Promise<void> {
    await this.watch?.stop();
    await this.compose.stop();
    rmSync(this.instancesRoot, { recursive: true, force: true });
    await this.uidRanges.releaseAll();
  }
}
