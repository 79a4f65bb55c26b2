/**
 * Instances as Docker containers (the Docker backend's instance runtime).
 *
 * An instance is two containers, as in compose/docker-compose.yml: `<id>-eni` owns the network
 * namespace (joined to the spec's networks, with the instance id as an alias on each) and serves the
 * instance's metadata on 127.0.0.1:1338 (emulator/docker/metadata-main.ts); `<id>` runs the service in
 * that namespace. So the instance's metadata is reachable by that instance only, as on EC2, and chaos
 * acts on the parts AWS has: the process (kill, pause) and the network interface (disconnect). With
 * `logAgent`, a third, `<id>-agent`, is the instance's CloudWatch agent (agent-container.ts): the
 * service's lines go to the instance's log file, and the agent ships them; it is stopped after the
 * service, so the service's last lines are shipped.
 *
 * Where this differs from EC2: the instance shares the host's kernel and the address Docker gives it,
 * not the one moto recorded; the metadata service reports the spec's `privateIp`.
 *
 * A worker container gets what its function sandbox (bubblewrap, per-function cgroups) needs, the same
 * settings as compose/docker-compose.yml's workers (workerHostConfig below, docs/docker.md).
 */
import { Dirent, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { constants } from "node:os";
import { createInterface } from "node:readline";
import Docker from "dockerode";
import { Role } from "../backend";
import { RunningInstance } from "../instance";
import { AgentContainer } from "./agent-container";

/** A container instance to start: the service's whole environment and where its interface attaches. */
export interface InstanceSpec {
  instanceId: string;
  role: Role;
  env: Record<string, string>;
  labels: Record<string, string>;
  /** The image to run; by default the role's image (faas/<role>:<tag>). */
  image?: string;
  /**
   * The networks the instance's interface joins, the first at creation. The instance id is always an
   * alias on each, so the edge and other containers can reach it by that name.
   */
  networks?: { name: string; aliases?: string[] }[];
  /** The private address the instance's metadata service reports (local-ipv4). */
  privateIp?: string;
  /** The instance's log file and CloudWatch agent (agent-container.ts); none when absent. */
  logAgent?: {
    /** The instance's folder on this host (its log file, the agent's configuration and state). */
    instanceRoot: string;
    logGroup: string;
    /** A network where the AWS emulator is `aws`. */
    network: string;
    onLine: (line: string, stream: "stdout" | "stderr") => void;
  };
}

export const LABEL_DOCKER_ENV = "faas.env";
export const IMDS_PORT = 1338;
/** Docker's default seccomp profile plus pivot_root, which bubblewrap needs (images/worker/seccomp-profile.py). */
export const WORKER_SECCOMP_PROFILE = path.resolve(
  __dirname,
  "..",
  "..",
  "..",
  "..",
  "compose",
  "worker-seccomp.json",
);

let workerSeccomp: string | undefined;

/**
 * The worker runs as root in its container, as on the AMI. CAP_SYS_ADMIN and CAP_SETPCAP serve only the
 * image's boot script (images/worker/boot.sh: the container's own cgroups made writable, a pid-only proc
 * so that bubblewrap may mount a new one, a cgroup namespace), which drops both from the bounding set
 * before the worker starts; the worker keeps CAP_SETUID and CAP_SETGID (setpriv to the sandbox's uid),
 * and CAP_KILL (ending a sandbox's processes). Its start-up probe runs bubblewrap as a sandbox uid, as
 * the sandboxes themselves do, so no CAP_SETFCAP (which mapping uid 0 would need since Linux 5.12).
 * no-new-privileges keeps file capabilities from ever granting anything. The seccomp profile is read once, at the first worker.
 */
function workerHostConfig(): { CapAdd: string[]; SecurityOpt: string[] } {
  workerSeccomp ??= JSON.stringify(JSON.parse(readFileSync(WORKER_SECCOMP_PROFILE, "utf8")));
  return {
    CapAdd: ["SETUID", "SETGID", "KILL", "SYS_ADMIN", "SETPCAP"],
    SecurityOpt: ["no-new-privileges:true", `seccomp=${workerSeccomp}`],
  };
}

export interface DockerRuntimeOptions {
  docker?: Docker;
  /** Tag of the default images faas/<role>:<tag> and of the interface's image faas/controller:<tag>. */
  imageTag?: string;
  /** Container names start with this; the default is "faas". */
  namePrefix?: string;
  /** Networks for instances whose spec names none. */
  networks?: Record<Role, { name: string; aliases?: string[] }[]>;
  /** How long to wait for the instance's metadata service before starting the service anyway. */
  eniReadyMs?: number;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };
/** docker-modem splits an attached stream into stdout and stderr; its typings say `any`. */
export interface Demuxer {
  demuxStream(
    stream: NodeJS.ReadableStream,
    stdout: NodeJS.WritableStream,
    stderr: NodeJS.WritableStream,
  ): void;
}

export class DockerRuntime {
  readonly docker: Docker;

  constructor(private readonly options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? new Docker();
  }

  /** Whether an engine answers; `make dev` picks this runtime only when it does. */
  static async available(docker: Docker = new Docker()): Promise<boolean> {
    try {
      await docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  async launch(
    spec: InstanceSpec,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<DockerInstance> {
    const tag = this.options.imageTag ?? "local";
    const prefix = this.options.namePrefix ?? "faas";
    const networks = spec.networks ?? this.options.networks?.[spec.role] ?? [];
    const [first, ...rest] = networks;
    if (first === undefined) throw new Error(`no Docker network given for ${spec.role} ${spec.instanceId}`);
    const labels = {
      ...spec.labels,
      ...(spec.labels.FAAS_ENV_ID === undefined ? {} : { [LABEL_DOCKER_ENV]: spec.labels.FAAS_ENV_ID }),
      "faas.instance": spec.instanceId,
      "faas.role": spec.role,
    };
    const hardening = { CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges:true"] };
    const aliasesOf = (n: { aliases?: string[] }) => [spec.instanceId, ...(n.aliases ?? [])];

    const eni = await this.docker.createContainer({
      name: `${prefix}-${spec.instanceId}-eni`,
      Image: `faas/controller:${tag}`,
      Cmd: ["node", "dist/emulator/docker/metadata-main.js"],
      Env: envList({
        FAAS_ROLE: spec.role,
        FAAS_INSTANCE_ID: spec.instanceId,
        FAAS_PRIVATE_IP: spec.privateIp ?? "10.0.0.10",
        FAAS_IMDS_PORT: String(IMDS_PORT),
      }),
      Labels: { ...labels, "faas.part": "eni" },
      HostConfig: { ...hardening, NetworkMode: first.name },
      NetworkingConfig: { EndpointsConfig: { [first.name]: { Aliases: aliasesOf(first) } } },
    });
    const instance = new DockerInstance(this.docker, eni);
    try {
      // dockerode (and the engine's create call) takes one network; the others are connected after.
      for (const n of rest) {
        await this.docker
          .getNetwork(n.name)
          .connect({ Container: eni.id, EndpointConfig: { Aliases: aliasesOf(n) } });
      }
      const eniReady = waitForLine(await eni.attach({ stream: true, stdout: true, stderr: true }), /"imds"/);
      await eni.start();
      await withTimeout(eniReady, this.options.eniReadyMs ?? 10_000).catch(() => undefined);

      const logAgent = spec.logAgent;
      const agent =
        logAgent === undefined
          ? undefined
          : await AgentContainer.start(this.docker, {
              name: `${prefix}-${spec.instanceId}-agent`,
              image: `faas/controller:${tag}`,
              instanceId: spec.instanceId,
              role: spec.role,
              instanceRoot: logAgent.instanceRoot,
              logGroup: logAgent.logGroup,
              network: logAgent.network,
              labels,
              onLine: logAgent.onLine,
            });
      instance.agent = agent;

      const worker = spec.role === "worker";
      const app = await this.docker.createContainer({
        name: `${prefix}-${spec.instanceId}`,
        Image: spec.image ?? `faas/${spec.role}:${tag}`,
        Env: envList({ ...spec.env, AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${IMDS_PORT}` }),
        Labels: { ...labels, "faas.part": "service" },
        // Root in the worker, to run each function in its own sandbox (images/worker/Dockerfile).
        User: worker ? "0:0" : undefined,
        HostConfig: {
          ...hardening,
          ...(worker ? workerHostConfig() : {}),
          NetworkMode: `container:${eni.id}`,
        },
      });
      await instance.attachService(app, (line, stream) => {
        agent?.append(line);
        onLine(line, stream);
      });
      return instance;
    } catch (err) {
      await instance.stop(0).catch(() => undefined);
      throw err;
    }
  }

  /** Removes every container, then every network, carrying faas.env=<envId>. */
  async removeAll(envId: string): Promise<void> {
    const filters = JSON.stringify({ label: [`${LABEL_DOCKER_ENV}=${envId}`] });
    const containers = await this.docker.listContainers({ all: true, filters });
    await Promise.allSettled(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true })));
    const networks = await this.docker.listNetworks({ filters });
    await Promise.allSettled(networks.map((n) => this.docker.getNetwork(n.Id).remove()));
  }
}

/**
 * One instance: the service container and its interface container. `signal` maps SIGSTOP/SIGCONT to
 * pause/unpause (a frozen instance, as a hung EC2 host) and sends any other signal to the service.
 */
export class DockerInstance implements RunningInstance {
  private app: Docker.Container | undefined;
  /** The instance's CloudWatch agent, when it has one. */
  agent: AgentContainer | undefined;
  /** Resolves when the service's output has been read to its end. */
  private outputEnded: Promise<void> = Promise.resolve();
  private exitInfo: Exit | undefined;
  private hostPid: number | undefined;
  private paused = false;
  private resolveExit: (exit: Exit) => void = () => undefined;
  readonly exited: Promise<Exit>;

  constructor(
    private readonly docker: Docker,
    readonly eni: Docker.Container,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get containerId(): string | undefined {
    return this.app?.id;
  }

  /** The host PID of the service's main process (tini), as `docker inspect` reports it. */
  get pid(): number | undefined {
    return this.hostPid;
  }

  get running(): boolean {
    return this.app !== undefined && this.exitInfo === undefined;
  }

  async attachService(
    app: Docker.Container,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
  ): Promise<void> {
    this.app = app;
    const stream = await app.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    (app.modem as Demuxer).demuxStream(stream, out, err);
    stream.on("end", () => {
      out.end();
      err.end();
    });
    const lines = (input: PassThrough, name: "stdout" | "stderr") =>
      new Promise<void>((resolve) =>
        createInterface({ input })
          .on("line", (line) => onLine(line, name))
          .on("close", resolve),
      );
    this.outputEnded = Promise.all([lines(out, "stdout"), lines(err, "stderr")]).then(() => undefined);
    await app.start();
    // After the start: `wait` (condition not-running) answers at once for a container that is only
    // created, which would report a fresh instance as exited; after the start it also covers one that
    // already exited again.
    const waited = app.wait() as Promise<{ StatusCode?: number }>;
    this.hostPid = ((await app.inspect()) as { State?: { Pid?: number } }).State?.Pid;
    void waited.then(
      (result) => this.finish(exitOf(result.StatusCode ?? null)),
      () => this.finish({ code: null, signal: null }),
    );
  }

  signal(signal: NodeJS.Signals): void {
    void this.signalAsync(signal).catch(() => undefined);
  }

  async signalAsync(signal: NodeJS.Signals): Promise<void> {
    const app = this.app;
    if (app === undefined || !this.running) return;
    if (signal === "SIGSTOP") {
      await app.pause();
      this.paused = true;
    } else if (signal === "SIGCONT") {
      if (this.paused) await app.unpause();
      this.paused = false;
    } else {
      if (this.paused) await this.signalAsync("SIGCONT");
      if (signal === "SIGKILL") thawFrozenCgroups(this.hostPid);
      await app.kill({ signal });
    }
  }

  /** Cuts the instance's interface from a network, as a failed ENI or security group would. */
  async disconnect(network: string): Promise<void> {
    await this.docker.getNetwork(network).disconnect({ Container: this.eni.id, Force: true });
  }

  async connect(network: string, aliases: string[] = []): Promise<void> {
    const name = ((await this.eni.inspect()) as { Config?: { Labels?: Record<string, string> } }).Config
      ?.Labels?.["faas.instance"];
    await this.docker.getNetwork(network).connect({
      Container: this.eni.id,
      EndpointConfig: { Aliases: [...(name ? [name] : []), ...aliases] },
    });
  }

  /**
   * SIGTERM, SIGKILL after the grace period; the service's output read to its end, then the agent
   * stopped (it ships what is left, as at an EC2 shutdown); then every container is removed.
   */
  async stop(graceMs = 5000): Promise<void> {
    const app = this.app;
    if (app !== undefined) {
      if (this.running) {
        if (this.paused) await app.unpause().catch(() => undefined);
        this.paused = false;
        await app.stop({ t: Math.ceil(graceMs / 1000) }).catch(() => undefined);
        await this.exited;
      }
      await withTimeout(this.outputEnded, 2000).catch(() => undefined);
      await app.remove({ force: true }).catch(() => undefined);
    } else {
      this.finish({ code: null, signal: null });
    }
    await this.agent?.stop(graceMs === 0 ? 0 : 15_000);
    await this.eni.remove({ force: true }).catch(() => undefined);
  }

  private finish(exit: Exit): void {
    if (this.exitInfo !== undefined) return;
    this.exitInfo = exit;
    this.resolveExit(exit);
  }
}

/**
 * Thaws every cgroup v1 freezer below the container's: a worker freezes its functions' sandboxes
 * between invocations, and a frozen process takes no SIGKILL, so Docker could not kill the container
 * ("did not receive an exit event") — an instance that crashes must die whole, sandboxes included.
 * Nothing to do on cgroup v2 (a frozen process dies of SIGKILL) or without the right to write there.
 */
function thawFrozenCgroups(hostPid: number | undefined): void {
  if (hostPid === undefined) return;
  let own: string | undefined;
  try {
    own = readFileSync(`/proc/${hostPid}/cgroup`, "utf8")
      .split("\n")
      .map((line) => line.split(":"))
      .find(([, controllers]) => controllers?.split(",").includes("freezer"))?.[2];
  } catch {
    return;
  }
  if (own === undefined) return;
  const walk = (dir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(dir, e.name));
    try {
      if (readFileSync(path.join(dir, "freezer.state"), "utf8").trim() !== "THAWED")
        writeFileSync(path.join(dir, "freezer.state"), "THAWED");
    } catch {
      // Not a freezer, or not ours to write: the kill goes ahead as it would have.
    }
  };
  walk(path.join("/sys/fs/cgroup/freezer", own));
}

/** Docker reports a process killed by signal n as exit code 128 + n. */
function exitOf(status: number | null): Exit {
  if (status !== null && status > 128) {
    const name = Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0];
    if (name !== undefined) return { code: null, signal: name as NodeJS.Signals };
  }
  return { code: status, signal: null };
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

function waitForLine(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    stream.on("data", (chunk: Buffer) => {
      seen = (seen + chunk.toString("utf8")).slice(-4096);
      if (pattern.test(seen)) resolve();
    });
    stream.on("end", () => reject(new Error("the instance's interface container exited")));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
