/**
 * The Docker backend's infrastructure: part of compose/docker-compose.yml under the project
 * `<envId without dashes>` — the AWS emulator (`aws`), Redis (`redis`), the SQS endpoint (`sqs`) and
 * the Elastic IP edge (`edge`, published on 127.0.0.1:<edge port>) — on the project's public, private
 * (internal) and cloud (internal) networks, with compose/isolation.sh closing Docker 20.10's host hole.
 * The instances are the Docker backend's containers on those networks (backend.ts, docs/docker.md).
 *
 * From this host: moto is reached at its address on the cloud network and Redis at its address on the
 * private network (the host may open connections into internal networks; containers may not leave
 * them). Instances reach everything by its network alias, as through VPC endpoints and private DNS.
 *
 * The SQS endpoint is a TCP proxy container (emulator/docker/queue-endpoint-main.ts) between the
 * private network and moto, as the process runtime's is a TCP proxy on the host: chaos cuts it with
 * SIGUSR1 and restores it with SIGUSR2, so only SQS fails (S3, DynamoDB and EC2 keep answering), as
 * when one VPC interface endpoint fails.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { PassThrough } from "node:stream";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { DescribeAddressesCommand, EC2Client } from "@aws-sdk/client-ec2";
import Docker from "dockerode";
import { sleep } from "../../../services/common/backoff";
import { PrerequisiteError } from "../../ports";
import { notYet, tcpListening, waitFor } from "../../wait";
import { ElasticIpView, QueueEndpoint, RestartableRedis } from "../backend";
import { DockerRuntime } from "./containers";

const run = promisify(execFile);
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const COMPOSE_FILE = path.join(REPO_ROOT, "compose", "docker-compose.yml");
const ISOLATION_SCRIPT = path.join(REPO_ROOT, "compose", "isolation.sh");
/** The services the Docker runtime takes from the compose file; its instances are its own. */
const SERVICES = ["aws", "redis", "sqs", "edge"] as const;
type Service = (typeof SERVICES)[number];
/** Where the `sqs` container's queue service listens (compose/docker-compose.yml). */
const QUEUE_SERVICE_PORT = 9324;

type OnLog = (source: string, line: string, stream: "stdout" | "stderr") => void;

export interface ComposeProjectOptions {
  envId: string;
  prefix: string;
  edgePort: number;
  visibilityTimeoutS: number;
  maxReceiveCount: number;
  runtime: DockerRuntime;
  imageTag?: string;
  /** Redis's password: the redis service requires it, the instances get it in FAAS_REDIS_URL. */
  redisPassword: string;
  onLog: OnLog;
  /** Everything docker-compose needs from this process's environment (PATH, DOCKER_HOST). */
  processEnv?: Record<string, string | undefined>;
  startTimeoutMs?: number;
}

/** The infrastructure services as the Docker backend uses them: started by it, or found running. */
export interface ComposeServices {
  readonly project: string;
  readonly awsEndpoint: string;
  /** The queue service (the platform's SQS), straight, not through the endpoint chaos cuts. */
  readonly sqsEndpoint: string;
  readonly redisUrl: string;
  readonly redis: RestartableRedis | undefined;
  readonly queueEndpoint: QueueEndpoint;
  network(name: "public" | "private" | "cloud"): string;
  stop(): Promise<void>;
}

/**
 * A project that `docker-compose up` started, as the reconciler service inside it sees it: every
 * service by its alias. Its lifecycle is compose's, so stopping it stops nothing; chaos does not
 * restart its Redis from here.
 */
export class RunningProject implements ComposeServices {
  readonly awsEndpoint = "http://aws:5000";
  readonly sqsEndpoint = "http://queue:9324";
  readonly redis = undefined;

  private constructor(
    readonly project: string,
    readonly redisUrl: string,
    readonly queueEndpoint: ContainerQueueEndpoint,
  ) {}

  static async find(docker: Docker, project: string, redisPassword: string): Promise<RunningProject> {
    const sqs = await composeContainer(docker, project, "sqs");
    return new RunningProject(
      project,
      `redis://:${encodeURIComponent(redisPassword)}@redis:6379`,
      new ContainerQueueEndpoint(sqs),
    );
  }

  network(name: "public" | "private" | "cloud"): string {
    return `${this.project}_${name}`;
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** The compose project's infrastructure services, started and torn down together. */
export class ComposeProject implements ComposeServices {
  private readonly logStreams = new Set<NodeJS.ReadableStream>();

  private constructor(
    private readonly o: ComposeProjectOptions,
    readonly project: string,
    private readonly teardown: () => Promise<void>,
    readonly containers: Record<Service, Docker.Container>,
    readonly awsEndpoint: string,
    readonly sqsEndpoint: string,
    readonly redis: ContainerRedis,
    readonly queueEndpoint: ContainerQueueEndpoint,
  ) {}

  get redisUrl(): string {
    return this.redis.url;
  }

  network(name: "public" | "private" | "cloud"): string {
    return `${this.project}_${name}`;
  }

  static async start(o: ComposeProjectOptions): Promise<ComposeProject> {
    // docker-compose 1.x keeps only lowercase letters, digits, "-" and "_" of a project name.
    const project = o.envId.replace(/[^a-z0-9]/gi, "").toLowerCase();
    const docker = o.runtime.docker;
    const env = {
      ...o.processEnv,
      FAAS_ENV_ID: o.envId,
      FAAS_EDGE_PORT: String(o.edgePort),
      FAAS_EDGE_REFRESH_MS: "200",
      FAAS_PREFIX: o.prefix,
      FAAS_IMAGE_TAG: o.imageTag ?? "local",
      FAAS_VISIBILITY_TIMEOUT_S: String(o.visibilityTimeoutS),
      FAAS_REDIS_PASSWORD: o.redisPassword,
    };
    const compose = async (...args: string[]) =>
      // From the repository's root: the compose file names the worker's seccomp profile relative to it.
      (
        await run("docker-compose", ["-f", COMPOSE_FILE, "-p", project, ...args], {
          cwd: REPO_ROOT,
          env,
          timeout: 180_000,
          maxBuffer: 16 * 1024 * 1024,
        })
      ).stdout;
    const networks = ["private", "cloud"].map((n) => `${project}_${n}`);
    const teardown = async () => {
      if (isRoot()) await run("bash", [ISOLATION_SCRIPT, "remove", ...networks]).catch(() => undefined);
      await compose("down", "-v", "--remove-orphans", "-t", "3").catch(() => undefined);
      await o.runtime.removeAll(o.envId).catch(() => undefined);
    };
    try {
      // The networks first (creating one service creates them all), then the firewall rules, then the
      // containers: nothing runs on a private network before its rules hold.
      await compose("up", "--no-start", "aws");
      if (isRoot()) await run("bash", [ISOLATION_SCRIPT, "apply", ...networks]);
      else
        o.onLog(
          "docker",
          "not root: compose/isolation.sh cannot close Docker's internal-network host hole (docs/docker.md)",
          "stderr",
        );
      await compose("up", "-d", ...SERVICES);
      const containers = {} as Record<Service, Docker.Container>;
      for (const service of SERVICES) containers[service] = await composeContainer(docker, project, service);
      const awsIp = await ipOn(containers.aws, `${project}_cloud`);
      const queueIp = await ipOn(containers.sqs, `${project}_cloud`);
      const redis = new ContainerRedis(containers.redis, `${project}_private`, o.redisPassword);
      await redis.refreshUrl();
      const infra = new ComposeProject(
        o,
        project,
        teardown,
        containers,
        `http://${awsIp}:5000`,
        `http://${queueIp}:${QUEUE_SERVICE_PORT}`,
        redis,
        new ContainerQueueEndpoint(containers.sqs),
      );
      for (const service of SERVICES) void infra.followLogs(service);
      redis.onStarted = () => void infra.followLogs("redis");
      const deadline = Date.now() + (o.startTimeoutMs ?? 60_000);
      await waitForTcp(containers.aws, awsIp, 5000, deadline, "the AWS emulator (aws)");
      await waitForTcp(
        containers.redis,
        await ipOn(containers.redis, `${project}_private`),
        6379,
        deadline,
        "Redis (redis)",
      );
      await waitForTcp(
        containers.sqs,
        await ipOn(containers.sqs, `${project}_private`),
        5000,
        deadline,
        "the SQS endpoint (sqs)",
      );
      await waitForTcp(containers.sqs, queueIp, QUEUE_SERVICE_PORT, deadline, "the queue service (sqs)");
      return infra;
    } catch (err) {
      const logs = await compose("logs", "--no-color", "--tail", "15").catch(() => "");
      await teardown();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
    }
  }

  async stop(): Promise<void> {
    for (const s of this.logStreams) (s as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
    await this.teardown();
  }

  /** Streams a service's output into the environment's log, as the process runtime's children do. */
  private async followLogs(service: Service): Promise<void> {
    const container = this.containers[service];
    const stream = await container
      .logs({ follow: true, stdout: true, stderr: true, since: 0 })
      .catch((): undefined => undefined);
    if (stream === undefined) return;
    this.logStreams.add(stream);
    const out = new PassThrough();
    const err = new PassThrough();
    (
      container.modem as { demuxStream(s: NodeJS.ReadableStream, o: PassThrough, e: PassThrough): void }
    ).demuxStream(stream, out, err);
    stream.on("end", () => {
      out.end();
      err.end();
      this.logStreams.delete(stream);
    });
    const emit = (line: string, kind: "stdout" | "stderr") => {
      // moto logs every request; only its problems belong in the stream.
      if (
        service === "aws" &&
        (/HTTP\/1\.1" [23]\d\d/.test(line) || /Running on|CTRL\+C|development server/.test(line))
      )
        return;
      this.o.onLog(service, line, kind);
    };
    createInterface({ input: out }).on("line", (line) => emit(line, "stdout"));
    createInterface({ input: err }).on("line", (line) => emit(line, "stderr"));
  }
}

/**
 * Redis in its container, restarted by stopping and starting the same container: its append-only file
 * (written before Redis answers, fsynced every second: compose/docker-compose.yml) lives in the
 * container's own filesystem, so it survives.
 * It requires the environment's password (images/redis/entrypoint.sh); `url` carries it.
 */
export class ContainerRedis implements RestartableRedis {
  url = "";
  /** Called after each restart (the environment follows the new container's output). */
  onStarted: () => void = () => undefined;

  constructor(
    private readonly container: Docker.Container,
    private readonly network: string,
    private readonly password: string,
  ) {}

  async refreshUrl(): Promise<void> {
    this.url = `redis://:${encodeURIComponent(this.password)}@${await ipOn(this.container, this.network)}:6379`;
  }

  async restart(downMs = 0, hard = false): Promise<void> {
    if (hard) await this.container.kill({ signal: "SIGKILL" });
    else await this.container.stop({ t: 5 });
    if (downMs > 0) await sleep(downMs);
    await this.container.start();
    await this.refreshUrl();
    const host = new URL(this.url).hostname;
    await waitForTcp(this.container, host, 6379, Date.now() + 20_000, "Redis (redis)");
    this.onStarted();
  }
}

/** The SQS endpoint container: SIGUSR1 cuts it, SIGUSR2 restores it (queue-endpoint-main.ts). */
export class ContainerQueueEndpoint implements QueueEndpoint {
  cut = false;

  constructor(private readonly container: Docker.Container) {}

  async setCut(cut: boolean): Promise<void> {
    await this.container.kill({ signal: cut ? "SIGUSR1" : "SIGUSR2" });
    this.cut = cut;
  }
}

/** Who holds the Elastic IP, read from the EC2 emulator as the edge container does. */
export class ElasticIpWatch implements ElasticIpView {
  instanceId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly ec2: EC2Client,
    private readonly allocationId: string,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), 200);
  }

  async refresh(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const out = await this.ec2.send(new DescribeAddressesCommand({ AllocationIds: [this.allocationId] }));
      const id = out.Addresses?.[0]?.InstanceId;
      this.instanceId = id === undefined || id === "" ? undefined : id;
    } catch {
      // Keep the last known association while the EC2 API hiccups.
    } finally {
      this.busy = false;
    }
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return Promise.resolve();
  }
}

async function composeContainer(docker: Docker, project: string, service: string): Promise<Docker.Container> {
  const [found] = await docker.listContainers({
    all: true,
    filters: JSON.stringify({
      label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`],
    }),
  });
  if (found === undefined) throw new Error(`docker-compose created no container for ${service}`);
  return docker.getContainer(found.Id);
}

export async function ipOn(container: Docker.Container, network: string): Promise<string> {
  const info = (await container.inspect()) as {
    NetworkSettings: { Networks: Record<string, { IPAddress: string } | undefined> };
  };
  return info.NetworkSettings.Networks[network]?.IPAddress ?? "";
}

/** Until the container's service accepts a connection from this host; fails at once if it exited. */
async function waitForTcp(
  container: Docker.Container,
  host: string,
  port: number,
  deadline: number,
  what: string,
): Promise<void> {
  let exited: string | undefined;
  await waitFor(
    `${what} on ${host}:${port}`,
    async () => {
      if ((await tcpListening(port, host)()) === true) return true;
      const info = await container.inspect().catch(() => undefined);
      if (info?.State.Running !== true)
        exited = `${info?.State.Status ?? "gone"}, code ${info?.State.ExitCode ?? "?"}`;
      return notYet("no connection");
    },
    { timeoutMs: Math.max(0, deadline - Date.now()), abortIf: () => exited },
  ).catch((err: unknown) => {
    if (exited === undefined) throw err;
    throw new PrerequisiteError(
      `${what} exited (${exited}): are the images older than the code? \`make images\` rebuilds them`,
    );
  });
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}
