/**
 * Fixtures for the Docker suite: an engine (started with scripts/ensure-docker.sh when none answers),
 * the offline images (built with scripts/build-images.sh when missing), and the compose topology under a
 * unique project name, labelled faas.env=<id> and removed with its firewall rules afterwards.
 *
 * The topology comes up through testcontainers' DockerComposeEnvironment (with Debian's docker-compose
 * 1.29 as its executable) and its wait strategies: health checks where the compose file has them, log
 * lines on the scratch images, which have no shell for a port check. Ryuk, its reaper, is off (its image
 * cannot be pulled here): `down()` removes everything by its compose project and its faas.env label.
 * docs/docker.md ("testcontainers") says where it is used and where not.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import Docker from "dockerode";
import {
  DockerComposeEnvironment,
  StartedDockerComposeEnvironment,
  Wait,
  WaitStrategy,
} from "testcontainers";
import { PlatformClient } from "../../client/platform-client";
import { DockerRuntime } from "../../emulator/backends/docker/containers";
import { freePort } from "../../emulator/ports";
import { notYet, RETRY_BACKOFF, waitFor } from "../../emulator/wait";
import { Api } from "../fixtures/environment";

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, "..", "..", "..");
const COMPOSE_FILE = path.join(ROOT, "compose", "docker-compose.yml");
const COMPOSE_FILE_FROM_ROOT = path.relative(ROOT, COMPOSE_FILE);
const IMAGES = ["faas/controller:local", "faas/worker:local", "faas/redis:local", "faas/aws:local"];

// testcontainers on this machine: no Ryuk (no image of it can be pulled; everything here is removed by
// the suite itself), and mapped ports on localhost. A value set outside wins.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= "localhost";

/** Each service's readiness as testcontainers checks it, by compose service name. */
function waitStrategies(): Record<string, WaitStrategy> {
  const logs = (line: RegExp) => Wait.forLogMessage(line);
  return {
    aws: Wait.forHealthCheck(),
    sqs: logs(/"endpoint":"0\.0\.0\.0:/),
    bootstrap: logs(/"bootstrap":"done"/),
    edge: logs(/"edge":/),
    // Redis and the reconciler keep testcontainers' default (listening ports: a no-op without published
    // ports). Redis has neither a health check nor, at log level warning, a line to wait for; the
    // reconciler's instances are not compose containers. The platform check after `up` covers both: a
    // controller answers only once it reached Redis, and only the reconciler starts it.
  };
}

/** An engine and the images, or a reason to skip (only when no engine can be had at all). */
export async function dockerOrSkipReason(): Promise<string | undefined> {
  const docker = new Docker();
  if (!(await DockerRuntime.available(docker))) {
    try {
      await run("bash", [path.join(ROOT, "scripts", "ensure-docker.sh")], { timeout: 240_000 });
    } catch (err) {
      return `no Docker engine can be had here (scripts/ensure-docker.sh: ${String(err).split("\n")[0]})`;
    }
  }
  const missing: string[] = [];
  for (const image of IMAGES) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => missing.push(image));
  }
  if (missing.length > 0)
    await run("bash", [path.join(ROOT, "scripts", "build-images.sh")], { timeout: 600_000 });
  return undefined;
}

export interface Topology {
  envId: string;
  project: string;
  edgePort: number;
  api: Api;
  apiKey: string;
  docker: Docker;
  network(name: "public" | "private" | "cloud"): string;
  container(service: string): Promise<Docker.Container>;
  compose(...args: string[]): Promise<string>;
  down(): Promise<void>;
}

export async function upTopology(env: Record<string, string> = {}): Promise<Topology> {
  const envId = `faas-t${randomBytes(4).toString("hex")}`;
  const project = envId.replace(/-/g, "");
  const edgePort = await freePort();
  const apiKey = `test-key-${randomBytes(12).toString("hex")}`;
  const docker = new Docker();
  const composeVars: Record<string, string> = {
    FAAS_ENV_ID: envId,
    FAAS_EDGE_PORT: String(edgePort),
    FAAS_API_KEY: apiKey,
    FAAS_WORKER_SECRET: `test-secret-${randomBytes(12).toString("hex")}`,
    FAAS_REDIS_PASSWORD: randomBytes(24).toString("base64url"),
    FAAS_ENV_KEY: randomBytes(32).toString("base64url"),
    FAAS_HEARTBEAT_INTERVAL_MS: "1000",
    FAAS_WORKER_DEAD_AFTER_MS: "5000",
    FAAS_POLL_WAIT_S: "2",
    ...env,
  };
  const composeEnv = { ...process.env, ...composeVars };
  const compose = async (...args: string[]): Promise<string> =>
    // From the repository's root: the compose file names the worker's seccomp profile relative to it.
    (
      await run("docker-compose", ["-f", COMPOSE_FILE, "-p", project, ...args], {
        cwd: ROOT,
        env: composeEnv,
        timeout: 180_000,
        maxBuffer: 16 * 1024 * 1024,
      })
    ).stdout;
  const network = (name: "public" | "private" | "cloud") => `${project}_${name}`;
  const isolation = (action: string) =>
    run("bash", [path.join(ROOT, "compose", "isolation.sh"), action, network("private"), network("cloud")]);
  let started: StartedDockerComposeEnvironment | undefined;
  const topology: Topology = {
    envId,
    project,
    edgePort,
    apiKey,
    docker,
    api: new Api(`http://127.0.0.1:${edgePort}`, apiKey),
    network,
    compose,
    container: async (service) => {
      // The instances are not compose services: the reconciler launches them, labelled with their role
      // and part. "controller", "worker-2", "worker-1-eni" name them as the compose file once did.
      const instance = /^(controller|worker)(?:-(\d+))?(-eni)?$/.exec(service);
      const labels =
        instance === null
          ? [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`]
          : [`faas.env=${envId}`, `faas.role=${instance[1]}`, `faas.part=${instance[3] ? "eni" : "service"}`];
      const found = (await docker.listContainers({ filters: JSON.stringify({ label: labels }) })).sort(
        (a, b) => a.Created - b.Created,
      )[Number(instance?.[2] ?? 1) - 1];
      if (found === undefined) throw new Error(`no running container for ${service}`);
      return docker.getContainer(found.Id);
    },
    down: async () => {
      await isolation("remove").catch(() => undefined);
      // testcontainers' down when its up got that far; docker-compose's own otherwise (a failed `up`).
      const downed = await started
        ?.down({ timeout: 3000, removeVolumes: true })
        .then(() => true)
        .catch(() => false);
      if (downed !== true) await compose("down", "-v", "--remove-orphans", "-t", "3").catch(() => undefined);
      // What compose does not know: instances the Docker runtime launched into the project's networks.
      await new DockerRuntime({ docker }).removeAll(envId);
    },
  };
  try {
    // Networks first (creating one service creates them all), firewall rules next, the rest last: no
    // instance runs before the rules hold. `up --no-start` of everything would make the later `up -d`
    // start existing containers without waiting for the health conditions.
    await compose("up", "--no-start", "aws");
    await isolation("apply");
    // docker-compose 1.29 names containers <project>_<service>_1, and testcontainers knows them by that.
    let environment = new DockerComposeEnvironment(ROOT, COMPOSE_FILE_FROM_ROOT)
      .withProjectName(project)
      .withEnvironment(composeVars)
      .withClientOptions({ executable: { standalone: true, executablePath: "docker-compose" } })
      .withStartupTimeout(120_000);
    for (const [service, strategy] of Object.entries(waitStrategies()))
      environment = environment.withWaitStrategy(`${project}_${service}_1`, strategy);
    started = await environment.up();
    // Containers up is not the platform up: the controller must hold the Elastic IP and the workers
    // must have registered, which only the API can tell.
    await waitFor(
      "controller answering through the edge with two workers registered",
      async () => {
        const workers = await workersBehindEdge(edgePort, apiKey);
        return workers >= 2 || notYet(`${workers} workers registered`);
      },
      { timeoutMs: 90_000, backoff: RETRY_BACKOFF },
    );
  } catch (err) {
    const logs = await compose("logs", "--tail", "20").catch(() => "");
    await topology.down();
    throw new Error(`${String(err)}\n${logs}`, { cause: err });
  }
  return topology;
}

/** Runs a TCP connect from inside a container: "connected", or the error (ECONNREFUSED, timeout...). */
export async function probeFrom(container: Docker.Container, host: string, port: number): Promise<string> {
  const script = `const s=require("net").connect(${port},${JSON.stringify(host)});const t=setTimeout(()=>{console.log("timeout");process.exit()},2000);s.on("connect",()=>{console.log("connected");process.exit()});s.on("error",e=>{console.log(e.code||e.message);process.exit()})`;
  const exec = await container.exec({ Cmd: ["node", "-e", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", resolve);
  });
  // Docker multiplexes stdout/stderr with 8-byte frame headers; the answer is the last printable word.
  const text = Array.from(Buffer.concat(chunks), (byte) =>
    byte < 32 ? " " : String.fromCharCode(byte),
  ).join("");
  return text.trim().split(/\s+/).pop() ?? "";
}

/** Runs a command in a container (as its user, root in a worker) and collects its exit code and output. */
export async function execIn(
  container: Docker.Container,
  cmd: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (chunks: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk);
        done();
      },
    });
  (
    container.modem as {
      demuxStream(s: NodeJS.ReadableStream, o: NodeJS.WritableStream, e: NodeJS.WritableStream): void;
    }
  ).demuxStream(stream, sink(out), sink(err));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => stream.on("end", resolve)),
    new Promise<void>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${cmd.join(" ")} did not end within ${timeoutMs} ms`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const info = (await exec.inspect()) as { ExitCode: number | null };
  return {
    code: info.ExitCode,
    stdout: Buffer.concat(out).toString("utf8"),
    stderr: Buffer.concat(err).toString("utf8"),
  };
}

/** A listener the test owns, on an address of this host (a bridge gateway): the hole Docker leaves. */
export async function listenOn(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => {
    socket.on("error", () => undefined);
    socket.end("hello\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function ipOn(container: Docker.Container, network: string): Promise<string> {
  const info = (await container.inspect()) as {
    NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
  };
  return info.NetworkSettings.Networks[network]?.IPAddress ?? "";
}

/** How many workers the controller behind the edge has registered; an error or a hung request counts as none. */
export async function workersBehindEdge(edgePort: number, apiKey: string): Promise<number> {
  const client = new PlatformClient(`http://127.0.0.1:${edgePort}`, apiKey, {
    requestTimeoutMs: 3000,
    retry: false,
  });
  return (await client.workers().catch(() => undefined))?.workers.length ?? 0;
}
