/**
 * The process backend: moto, Redis and the queue service (the platform's SQS, docs/queue.md) as child
 * processes on 127.0.0.1 (or given endpoints), the SQS endpoint as a TCP proxy in front of the queue, the Elastic IP edge in this process, one metadata server per instance, and
 * each instance's service as a Node.js process running the same entry file the AMI runs, with its log
 * file and CloudWatch agent beside it (log-agent/sidecar.ts) for as long as the instance lives.
 */
import { chownSync, mkdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EC2Client } from "@aws-sdk/client-ec2";
import { sweepWorkerCgroups } from "../../../services/worker/sandbox/cgroups";
import { AwsEmulator, startMoto } from "../../aws-emulator";
import { CloudResources } from "../../cloud-resources";
import { AddressAssociation, ElasticIpEdge } from "../../edge";
import { LogSidecar } from "../../log-agent/sidecar";
import { ManagedProcess } from "../../managed-process";
import { MetadataServer } from "../../metadata-server";
import { freePort } from "../../ports";
import { RedisHandle } from "../../redis-server";
import { SandboxUidRanges } from "../../sandbox-uids";
import { envRecord, ServiceEnv, withBackendVars } from "../../service-env";
import { TcpProxy } from "../../tcp-proxy";
import { QueueProcess, startQueueProcess } from "./queue";
import {
  Backend,
  BackendContext,
  ElasticIpView,
  InstanceIdentity,
  Listener,
  Placement,
  QueueEndpoint,
} from "../backend";

export interface ProcessBackendOptions {
  /** Where moto listens (default 4566); ignored with `awsEndpoint`. */
  motoPort?: number;
  /** Use this AWS endpoint instead of starting moto. */
  awsEndpoint?: string;
  /** Where Redis listens (default 6379); ignored with `redisUrl`. */
  redisPort?: number;
  /** Use this Redis (its URL carries its password) instead of starting one; Redis chaos is then unavailable. */
  redisUrl?: string;
  /**
   * Run workers as this user (e.g. nobody), as a platform engineer without root would; needs the
   * emulator to be root. Their sandboxes then get namespaces without a uid each.
   */
  workerUser?: { uid: number; gid: number };
  /** The compiled application the instances run (default: this build's dist/). */
  distRoot?: string;
  /**
   * Which SQS the platform's queues live in: "local", the queue service whose cost per operation does
   * not grow with the backlog (docs/queue.md; the default), or "moto", the AWS emulator's own.
   */
  queue?: "local" | "moto";
  /** Where the local queue service listens (default: a free port). */
  queuePort?: number;
}

export class ProcessBackend implements Backend {
  readonly kind = "process" as const;
  /**
   * A controller process answers 1–3 s after it starts on a quiet machine, but a loaded one (a test
   * suite beside `make dev`) was seen not to have logged its first line 5 s after its start: with no
   * allowance, the health check's grace (5 s) and three failures replaced it before it had booted.
   * An instance that answered once gets none of it: a controller that dies or hangs is replaced as fast.
   */
  readonly bootAllowanceMs = 15_000;
  /**
   * Workers sharing this host, of this local cloud or another, must not share sandbox uids: each holds
   * a range of 1000 from 100000 that no other worker holds while it lives (emulator/sandbox-uids.ts).
   */
  private readonly uidRanges = new SandboxUidRanges();
  /** The log file and agent of every instance placed and not yet released. */
  private readonly sidecars = new Set<LogSidecar>();

  private constructor(
    private readonly context: BackendContext,
    private readonly options: ProcessBackendOptions,
    readonly awsEndpoint: string,
    readonly redisUrl: string,
    private readonly proxy: TcpProxy,
    private readonly moto: AwsEmulator | undefined,
    readonly redis: RedisHandle | undefined,
    private readonly queue: QueueProcess | undefined,
    /** Where the workers reach the address's holder's private listener (the heartbeat). */
    private readonly privateEdgePort: number,
  ) {}

  get sqsEndpoint(): string {
    return this.queue?.endpoint ?? this.awsEndpoint;
  }

  static async start(context: BackendContext, o: ProcessBackendOptions = {}): Promise<ProcessBackend> {
    const results = await Promise.allSettled([
      o.awsEndpoint === undefined ? startMoto(o.motoPort ?? 4566, context.labels, context.onLog) : undefined,
      o.redisUrl === undefined
        ? RedisHandle.start(o.redisPort ?? 6379, context.redisPassword, context.labels, context.onLog)
        : undefined,
      (o.queue ?? "local") === "local"
        ? startQueueProcess(o.queuePort ?? (await freePort()), context.labels, context.onLog)
        : undefined,
    ]);
    const moto = results[0].status === "fulfilled" ? results[0].value : undefined;
    const redis = results[1].status === "fulfilled" ? results[1].value : undefined;
    const queue = results[2].status === "fulfilled" ? results[2].value : undefined;
    const started = [moto, redis, queue].filter((s) => s !== undefined);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw failed.reason;
    }
    const awsEndpoint = o.awsEndpoint ?? moto?.endpoint ?? "";
    const redisUrl = o.redisUrl ?? redis?.url ?? "";
    // The SQS endpoint the instances use (and chaos cuts) is a proxy to whichever SQS serves.
    const sqsUrl = new URL(queue?.endpoint ?? awsEndpoint);
    const proxy = new TcpProxy({ host: sqsUrl.hostname, port: Number(sqsUrl.port || 80) });
    try {
      await proxy.start();
    } catch (err) {
      await Promise.allSettled(started.map((s) => s.stop()));
      throw err;
    }
    const privateEdgePort = await freePort();
    return new ProcessBackend(context, o, awsEndpoint, redisUrl, proxy, moto, redis, queue, privateEdgePort);
  }

  get queueEndpoint(): QueueEndpoint {
    return this.proxy;
  }

  queueUrlForInstances(queueUrl: string): string {
    const url = new URL(queueUrl);
    url.host = `127.0.0.1:${this.proxy.port}`;
    return url.toString();
  }

  async startEdge(
    resources: CloudResources,
    ec2: EC2Client,
    targetOf: (instanceId: string, listener: Listener) => { host: string; port: number } | undefined,
    options: { remapDelayMs?: number } = {},
  ): Promise<ElasticIpView> {
    // Two edges for one address: the public API on the edge port, and the private listener the
    // workers' heartbeats reach (inside a VPC the address's DNS name resolves to its holder). They
    // share one reading of the association: every reading is a request moto spends CPU on.
    const association = new AddressAssociation({
      allocationId: resources.eipAllocationId,
      ec2,
      remapDelayMs: options.remapDelayMs,
    });
    const edges = (["public", "private"] as const).map(
      (listener) =>
        new ElasticIpEdge({
          port: listener === "public" ? this.context.edgePort : this.privateEdgePort,
          association,
          targetOf: (id) => targetOf(id, listener),
        }),
    );
    try {
      for (const edge of edges) await edge.start();
    } catch (err) {
      association.stop();
      await Promise.all(edges.map((e) => e.stop()));
      throw err;
    }
    return {
      get instanceId() {
        return association.instanceId;
      },
      refresh: () => association.refresh(),
      stop: async () => {
        association.stop();
        await Promise.all(edges.map((e) => e.stop()));
      },
    };
  }

  async place(identity: InstanceIdentity): Promise<Placement> {
    const metadata = new MetadataServer({
      instanceId: identity.instanceId,
      availabilityZone: "us-east-1a",
      privateIp: identity.privateIp,
      instanceType: identity.instanceType,
      amiId: identity.amiId,
    });
    const port = identity.role === "controller" ? await freePort() : undefined;
    const privatePort = identity.role === "controller" ? await freePort() : undefined;
    const uidBase = identity.role === "worker" ? await this.uidRanges.take() : undefined;
    const logs = new LogSidecar({
      instanceId: identity.instanceId,
      role: identity.role,
      instanceRoot: path.join(this.instancesRoot, identity.instanceId),
      logGroup: `/${this.context.prefix}/${identity.role}`,
      awsEndpoint: this.awsEndpoint,
      labels: this.context.labels,
      onAgentLine: (line, stream) => this.context.onLog(`agent ${identity.instanceId}`, line, stream),
    });
    this.sidecars.add(logs);
    let outputClosed: Promise<unknown> = Promise.resolve();
    return {
      port,
      privatePort,
      start: async (service, onLine) => {
        logs.start();
        const metadataEndpoint = await metadata.start();
        const where = withBackendVars(service, {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? "/tmp",
          AWS_ENDPOINT_URL: this.awsEndpoint,
          // SQS goes through its endpoint, which chaos can cut, as a VPC interface endpoint would fail.
          AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${this.proxy.port}`,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: metadataEndpoint,
          FAAS_REDIS_URL: this.redisUrl,
          FAAS_EXIT_WITH_PARENT: "1",
          ...(identity.role === "controller"
            ? { FAAS_HOST: "127.0.0.1", FAAS_PORT: String(port), FAAS_PRIVATE_PORT: String(privatePort) }
            : { FAAS_CONTROLLER_URL: `http://127.0.0.1:${this.privateEdgePort}` }),
        });
        const handle = await this.spawn(
          identity,
          uidBase === undefined ? where : this.workerHost(identity, where, uidBase),
          (line, stream) => {
            logs.append(line);
            onLine(line, stream);
          },
        );
        outputClosed = new Promise((resolve) => handle.child.once("close", resolve));
        return handle;
      },
      // The private listener, as an internal load balancer's check would: it stays plain HTTP when the
      // public API serves HTTPS.
      healthTarget: () =>
        Promise.resolve(privatePort === undefined ? undefined : { host: "127.0.0.1", port: privatePort }),
      // The service's last lines are in its pipe until it closes: appended first, then the agent stops.
      release: async () => {
        await Promise.race([outputClosed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
        await logs.stop();
        this.sidecars.delete(logs);
        await metadata.stop();
        if (uidBase !== undefined) await this.uidRanges.release(uidBase);
      },
    };
  }

  /**
   * A worker's host-side settings: code and the sandbox runtime under the environment's own folder
   * (removed at stop even when a worker was killed before it could clean up), and its own sandbox uids.
   */
  private workerHost(identity: InstanceIdentity, service: ServiceEnv, uidBase: number): ServiceEnv {
    const own = path.join(this.codeRoot, identity.instanceId);
    const user = this.options.workerUser;
    if (user !== undefined) {
      mkdirSync(own, { recursive: true });
      chownSync(own, user.uid, user.gid);
    }
    return withBackendVars(service, {
      FAAS_SANDBOX_UID_BASE: String(uidBase),
      FAAS_SANDBOX_UID_COUNT: String(this.uidRanges.options.size),
      FAAS_CODE_DIR: path.join(own, "code"),
      FAAS_SANDBOX_RUNTIME_DIR: path.join(own, "runtime"),
    });
  }

  private spawn(
    identity: InstanceIdentity,
    service: ServiceEnv,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<ManagedProcess> {
    const distRoot = this.options.distRoot ?? path.resolve(__dirname, "..", "..", "..");
    return Promise.resolve(
      new ManagedProcess({
        name: identity.instanceId,
        command: process.execPath,
        args: [path.join(distRoot, "services", identity.role, "main.js")],
        env: { ...envRecord(service), ...this.context.labels },
        user: identity.role === "worker" ? this.options.workerUser : undefined,
        onLine: (_name, line, stream) => onLine(line, stream),
      }),
    );
  }

  hostProcesses(): { name: string; pid: number }[] {
    const out: { name: string; pid: number }[] = [];
    if (this.moto?.process?.pid !== undefined) out.push({ name: "moto", pid: this.moto.process.pid });
    if (this.redis?.pid !== undefined) out.push({ name: "redis", pid: this.redis.pid });
    if (this.queue?.pid !== undefined) out.push({ name: "sqs", pid: this.queue.pid });
    for (const sidecar of this.sidecars)
      if (sidecar.agentPid !== undefined) out.push({ name: "log agents", pid: sidecar.agentPid });
    return out;
  }

  /** Where process instances of this environment keep their log file and agent state. */
  private get instancesRoot(): string {
    return path.join(os.tmpdir(), `faas-instances-${this.context.envId}`);
  }

  /** Where process instances of this environment keep unpacked function code. */
  private get codeRoot(): string {
    return path.join(os.tmpdir(), `faas-code-${this.context.envId}`);
  }

  async stop(): Promise<void> {
    await this.proxy.stop();
    await Promise.allSettled([this.redis?.stop(), this.moto?.stop(), this.queue?.stop()]);
    rmSync(this.codeRoot, { recursive: true, force: true });
    rmSync(this.instancesRoot, { recursive: true, force: true });
    // Workers killed along the way left their (empty) sandbox cgroups behind.
    await sweepWorkerCgroups().catch(() => undefined);
    await this.uidRanges.releaseAll();
  }
}
