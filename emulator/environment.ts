/**
 * One local cloud: a backend (the AWS emulator, Redis, the SQS endpoint chaos can cut, the Elastic IP
 * edge), the platform's AWS resources in it, and two Auto Scaling groups — a controller group of
 * exactly one and a worker group — whose fleet the reconciler keeps at capacity. Used by `faas dev`,
 * the tests, the benchmark and `make chaos-test` alike. Everything it starts carries the environment's
 * id and is stopped by `stop()` (or `await using`).
 *
 * This file only composes: backends/ (process or docker) run things, fleet.ts owns the instances,
 * health-checker.ts checks controllers, service-env.ts types each service's settings.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  Backend,
  BackendKind,
  ElasticIpView,
  QueueEndpoint,
  RestartableRedis,
  Role,
} from "./backends/backend";
import { BackendChoice, startBackend } from "./backends";
import { awsClients, Clients, CloudResources, destroyClients, ensureCloudResources } from "./cloud-resources";
import { autoScalingGroups, Fleet, InstanceInfo, RunInstancesSource } from "./fleet";
import { armEnvironmentReaper, EnvironmentReaper } from "./leftovers";
import { assertPortFree } from "./ports";
import { SelfSignedCertificate, selfSignedCertificate } from "./tls";
import { FAST_TIMING, Reconciler, ScalingActivity, ScalingTiming } from "./reconciler";
import {
  CHECK_BACKEND_VARS,
  CHECK_URLS,
  checkServiceEnv,
  ControllerEnv,
  platformServiceEnv,
  resourceUrls,
  withBackendVars,
  WorkerEnv,
} from "./service-env";

export { GROUP } from "./fleet";
export type { InstanceInfo, InstanceState } from "./fleet";

export const LABEL_ENV = "FAAS_ENV_ID";

export interface EnvironmentOptions {
  envId?: string;
  /** Resource names start with this (queue `<prefix>-tasks`, bucket `<prefix>-code`, ...). */
  prefix?: string;
  edgePort: number;
  /** What runs the cloud and its instances, with that backend's own options (default: processes). */
  backend?: BackendChoice;
  workers: number;
  maxWorkers?: number;
  /** A hot standby controller (issue 11, docs/failover.md): the controller group becomes 2/2. */
  standby?: boolean;
  /**
   * The public API over HTTPS with a self-signed certificate made for this environment, whose
   * fingerprint clients pin (`tlsFingerprint`). Process runtime only.
   */
  tls?: boolean;
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
  /** Settings of the controller's, on top of the environment's (typed by services/controller/config.ts). */
  controllerEnv?: ControllerEnv;
  /** Settings of the workers', on top of the environment's (typed by services/worker/config.ts). */
  workerEnv?: WorkerEnv;
  onLog?: (source: string, line: string, stream: "stdout" | "stderr") => void;
  onActivity?: (activity: ScalingActivity) => void;
}

export class Environment implements AsyncDisposable {
  readonly reconciler: Reconciler;
  private stopped = false;

  private constructor(
    readonly envId: string,
    readonly options: EnvironmentOptions,
    readonly backend: Backend,
    readonly resources: CloudResources,
    readonly clients: Clients,
    private readonly edge: ElasticIpView,
    private readonly fleet: Fleet,
    private readonly certificate: SelfSignedCertificate | undefined,
    private readonly reaper: EnvironmentReaper,
  ) {
    this.reconciler = new Reconciler(
      autoScalingGroups(options.workers, options.maxWorkers, options.standby),
      fleet,
      options.scaling ?? FAST_TIMING,
      options.onActivity,
    );
  }

  /** Starts everything and launches the groups' instances; on any failure, stops what it had started. */
  static async start(options: EnvironmentOptions): Promise<Environment> {
    const envId = options.envId ?? `faas-${randomBytes(4).toString("hex")}`;
    options = {
      ...options,
      redisPassword: options.redisPassword ?? randomBytes(24).toString("base64url"),
      envKey: options.envKey ?? randomBytes(32).toString("base64url"),
    };
    const prefix = options.prefix ?? "faas";
    // First armed, last disarmed: if this process dies before stop() ends, the reaper removes the rest.
    const reaper = armEnvironmentReaper(envId);
    const cleanups: (() => Promise<void>)[] = [() => Promise.resolve(reaper.disarm())];
    let certificate: SelfSignedCertificate | undefined;
    try {
      if (options.tls === true) {
        if (options.backend !== undefined && options.backend.kind !== "process")
          throw new Error("--tls: the public API over HTTPS runs on the process runtime only, for now");
        const dir = mkdtempSync(path.join(os.tmpdir(), `faas-tls-${envId}-`));
        cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
        certificate = await selfSignedCertificate(dir, { ips: ["127.0.0.1"], dns: ["localhost"] });
        options = {
          ...options,
          controllerEnv: {
            ...options.controllerEnv,
            FAAS_TLS_CERT_FILE: certificate.certFile,
            FAAS_TLS_KEY_FILE: certificate.keyFile,
          },
        };
      }
      // Every setting the services would refuse, refused now, before anything runs.
      for (const role of ["controller", "worker"] as const)
        checkServiceEnv(withBackendVars(platformServiceEnv(options, role, CHECK_URLS), CHECK_BACKEND_VARS));
      await assertPortFree(options.edgePort, "the Elastic IP edge", "--edge-port");
      const backend = await startBackend(
        {
          envId,
          labels: { [LABEL_ENV]: envId },
          prefix,
          edgePort: options.edgePort,
          visibilityTimeoutS: options.visibilityTimeoutS ?? 30,
          maxReceiveCount: options.maxReceiveCount ?? 5,
          redisPassword: options.redisPassword ?? "",
          onLog: options.onLog ?? (() => undefined),
        },
        options.backend ?? { kind: "process" },
      );
      cleanups.push(() => backend.stop());

      const clients = awsClients({
        endpoint: backend.awsEndpoint,
        sqsEndpoint: backend.sqsEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
      });
      cleanups.push(() => Promise.resolve(destroyClients(clients)));
      const resources = await ensureCloudResources(
        clients,
        {
          prefix,
          visibilityTimeoutS: options.visibilityTimeoutS ?? 30,
          maxReceiveCount: options.maxReceiveCount ?? 5,
        },
        60_000,
      );

      const holder: { fleet?: Fleet } = {};
      const edge = await backend.startEdge(
        resources,
        clients.ec2,
        (id, listener) => holder.fleet?.target(id, listener),
        {
          remapDelayMs: (options.scaling ?? FAST_TIMING).eipRemapDelayMs,
        },
      );
      cleanups.push(() => edge.stop());
      const urls = resourceUrls(resources, (url) => backend.queueUrlForInstances(url));
      const fleet = new Fleet({
        envId,
        backend,
        ec2: clients.ec2,
        source: new RunInstancesSource(clients.ec2, envId, {
          controller: resources.publicSubnetId,
          worker: resources.privateSubnetId,
        }),
        eipAllocationId: resources.eipAllocationId,
        timing: options.scaling ?? FAST_TIMING,
        serviceEnv: (role) => platformServiceEnv(options, role, urls),
        onLog: options.onLog,
        onTerminated: () => edge.refresh(),
      });
      holder.fleet = fleet;
      cleanups.push(() => fleet.stop());
      const env = new Environment(
        envId,
        options,
        backend,
        resources,
        clients,
        edge,
        fleet,
        certificate,
        reaper,
      );
      await env.reconciler.start();
      return env;
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw err;
    }
  }

  get endpoint(): string {
    return `${this.certificate === undefined ? "http" : "https"}://127.0.0.1:${this.options.edgePort}`;
  }

  /** The SHA-256 fingerprint of the API's certificate, which clients pin; undefined without `tls`. */
  get tlsFingerprint(): string | undefined {
    return this.certificate?.fingerprint256;
  }

  get labels(): Record<string, string> {
    return { [LABEL_ENV]: this.envId };
  }

  /** Which backend runs this environment, for display ("process runtime"). */
  get runtime(): { kind: BackendKind } {
    return { kind: this.backend.kind };
  }

  /** How much longer than a process a new instance of this backend may take to boot. */
  get bootAllowanceMs(): number {
    return this.backend.bootAllowanceMs;
  }

  /** The AWS emulator as this host reaches it. */
  get awsEndpoint(): string {
    return this.backend.awsEndpoint;
  }

  /** Redis as this host reaches it. */
  get redisUrl(): string {
    return this.backend.redisUrl;
  }

  /** Redis, when the environment owns it (chaos restarts it). */
  get redis(): RestartableRedis | undefined {
    return this.backend.redis;
  }

  /** The SQS endpoint the instances use; chaos cuts it. */
  get queueEndpoint(): QueueEndpoint {
    return this.backend.queueEndpoint;
  }

  /**
   * The queue URL as the instances see it: its host is the SQS endpoint, as private DNS makes the
   * regional SQS host resolve to the VPC endpoint (the SDK sends to the queue URL's host).
   */
  get queueUrlViaEndpoint(): string {
    return this.backend.queueUrlForInstances(this.resources.queueUrl);
  }

  get timing(): ScalingTiming {
    return this.reconciler.timing;
  }

  /** The instance the Elastic IP points to, as the edge last saw it. */
  get elasticIpHolder(): string | undefined {
    return this.edge.instanceId;
  }

  launch(role: Role, bootDelayMs = 0): Promise<InstanceInfo> {
    return this.fleet.launch(role, bootDelayMs);
  }

  terminate(instanceId: string): Promise<void> {
    return this.fleet.terminate(instanceId);
  }

  /** A crash: the instance's process dies by SIGKILL; the group notices and replaces it. */
  kill(instanceId: string): void {
    this.fleet.kill(instanceId);
  }

  pause(instanceId: string): void {
    this.fleet.pause(instanceId);
  }

  resume(instanceId: string): void {
    this.fleet.resume(instanceId);
  }

  list(): InstanceInfo[] {
    return this.fleet.list();
  }

  /** Instances of a role that are up (not terminated, not unhealthy). */
  live(role: Role): InstanceInfo[] {
    return this.list().filter((i) => i.role === role && (i.state === "running" || i.state === "pending"));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.reconciler.stop();
    await this.fleet.stop();
    await this.edge.stop();
    await this.backend.stop();
    destroyClients(this.clients);
    if (this.certificate !== undefined)
      rmSync(path.dirname(this.certificate.certFile), { recursive: true, force: true });
    this.reaper.disarm();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
