/**
 * Fixtures for the Docker suite: an engine (started with scripts/ensure-docker.sh when none answers),
 * the offline images (built with scripts/build-images.sh when missing), and the compose topology under a
 * unique project name, labelled faas.env=<id> and removed with its firewall rules afterwards.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import net from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import Docker from "dockerode";
import { DockerRuntime } from "../../emulator/docker-runtime";
import { freePort } from "../../emulator/ports";
import { Api, waitFor } from "../fixtures/environment";

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, "..", "..", "..");
const COMPOSE_FILE = path.join(ROOT, "compose", "docker-compose.yml");
const IMAGES = ["faas/controller:local", "faas/worker:local", "faas/redis:local", "faas/aws:local"];

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
  const composeEnv = {
    ...process.env,
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
      const [found] = await docker.listContainers({
        all: true,
        filters: JSON.stringify({
          label: [`com.docker.compose.project=${project}`, `com.docker.compose.service=${service}`],
        }),
      });
      if (found === undefined) throw new Error(`no container for service ${service}`);
      return docker.getContainer(found.Id);
    },
    down: async () => {
      await isolation("remove").catch(() => undefined);
      await compose("down", "-v", "--remove-orphans", "-t", "3").catch(() => undefined);
      await new DockerRuntime({ docker }).removeAll(envId);
    },
  };
  try {
    // Networks first (creating one service creates them all), firewall rules next, the rest last: no
    // instance runs before the rules hold. `up --no-start` of everything would make the later `up -d`
    // start existing containers without waiting for the health conditions.
    await compose("up", "--no-start", "aws");
    await isolation("apply");
    await compose("up", "-d");
    await waitFor(
      async () => (await workersBehindEdge(edgePort, apiKey)) >= 2,
      90_000,
      "controller answering through the edge with two workers registered",
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

/** How many workers the controller behind the edge has registered; a hung request counts as none. */
export async function workersBehindEdge(edgePort: number, apiKey: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${edgePort}/api/workers`, {
    headers: { authorization: `Bearer ${apiKey}` },
    signal: AbortSignal.timeout(3000),
  });
  if (res.status !== 200) return 0;
  return ((await res.json()) as { workers: unknown[] }).workers.length;
}
