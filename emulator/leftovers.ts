/**
 * What an environment left behind when its emulator died without stopping it (SIGKILL, a crash, a
 * closed terminal): found by the environment's label and removed, as testcontainers' reaper removes a
 * dead session's containers. The label is exact and random (FAAS_ENV_ID=faas-<8 hex>), so only what
 * that environment started matches; processes are ended by their PID.
 *
 * - processes: FAAS_ENV_ID=<id> in their environment (moto; the services stop by themselves when
 *   their lifeline closes, but one that was paused is found here too), or working in a folder named
 *   for the environment (Redis works in its data folder, and overwrites its environment with its
 *   process title, so its label cannot be read back);
 * - containers and networks: the Docker backend's faas.env=<id> label and the compose project's label;
 * - folders: the process backend's code folder and Redis's data folder under the temp folder;
 * - cgroups: dead workers' sandbox cgroups.
 */
import { execFile, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { sweepWorkerCgroups } from "../services/worker/sandbox/cgroups";
import { LABEL_DOCKER_ENV } from "./backends/docker/containers";

const run = promisify(execFile);
const ISOLATION_SCRIPT = path.resolve(__dirname, "..", "..", "compose", "isolation.sh");
const LABEL_ENV = "FAAS_ENV_ID";

/** An environment id is letters, digits and '-': it becomes a label, a folder prefix and a compose project. */
function assertEnvId(envId: string): void {
  if (!/^[A-Za-z0-9-]+$/.test(envId)) throw new Error(`not an environment id: ${JSON.stringify(envId)}`);
}

/** Removes everything labelled with `envId`; answers one line per kind of thing removed. */
export async function reapEnvironment(envId: string, docker: Docker = new Docker()): Promise<string[]> {
  assertEnvId(envId);
  const removed: string[] = [];
  const pids = processesLabelled(envId);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGCONT");
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  if (pids.length > 0)
    removed.push(`${pids.length} process${pids.length === 1 ? "" : "es"} (pid ${pids.join(", ")})`);
  removed.push(...(await removeContainers(envId, docker)));
  const folders = tempFoldersOf(envId);
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  if (folders.length > 0)
    removed.push(`${folders.length} folder${folders.length === 1 ? "" : "s"} (${folders.join(", ")})`);
  await sweepWorkerCgroups().catch(() => undefined);
  return removed;
}

/** PIDs whose environment holds FAAS_ENV_ID=<envId> exactly, or whose working folder is the environment's; not this process. */
export function processesLabelled(envId: string): number[] {
  const label = `${LABEL_ENV}=${envId}`;
  const folder = path.join(os.tmpdir(), `faas-redis-${envId}-`);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "latin1");
      if (environ.split("\0").includes(label) || readlinkSync(`/proc/${entry}/cwd`).startsWith(folder))
        pids.push(Number(entry));
    } catch {
      // gone, or another user's
    }
  }
  return pids;
}

async function removeContainers(envId: string, docker: Docker): Promise<string[]> {
  const engine = await docker.ping().then(
    () => true,
    () => false,
  );
  if (!engine) return [];
  const project = envId.replace(/[^a-z0-9]/gi, "").toLowerCase();
  const removed: string[] = [];
  for (const label of [`${LABEL_DOCKER_ENV}=${envId}`, `com.docker.compose.project=${project}`]) {
    const filters = JSON.stringify({ label: [label] });
    const containers = await docker.listContainers({ all: true, filters });
    await Promise.allSettled(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    const networks = await docker.listNetworks({ filters });
    if (networks.length > 0 && process.getuid?.() === 0)
      await run("bash", [ISOLATION_SCRIPT, "remove", ...networks.map((n) => n.Name)]).catch(() => undefined);
    await Promise.allSettled(networks.map((n) => docker.getNetwork(n.Id).remove()));
    if (containers.length + networks.length > 0)
      removed.push(`${containers.length} container(s) and ${networks.length} network(s) labelled ${label}`);
  }
  return removed;
}

function tempFoldersOf(envId: string): string[] {
  const tmp = os.tmpdir();
  return readdirSync(tmp)
    .filter(
      (name) =>
        name === `faas-code-${envId}` ||
        name === `faas-instances-${envId}` ||
        name.startsWith(`faas-redis-${envId}-`),
    )
    .map((name) => path.join(tmp, name));
}

/** The reaper armed for one environment: `disarm` once the environment is stopped. */
export interface EnvironmentReaper {
  readonly pid: number | undefined;
  disarm(): void;
}

/**
 * Starts the environment's lifeline reaper (reaper-main.ts): if this process ends without disarming
 * it, whatever it had started for `envId` is removed. Neither the reaper nor its pipe keeps this
 * process running. Without it, a bench or chaos run killed mid-way left moto and Redis behind.
 */
export function armEnvironmentReaper(envId: string): EnvironmentReaper {
  assertEnvId(envId);
  // Not labelled itself (its own label would make it one of the processes it ends).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== LABEL_ENV));
  const reaper = spawn(process.execPath, [path.join(__dirname, "reaper-main.js"), envId], {
    detached: true,
    stdio: ["pipe", "ignore", "ignore"],
    env,
  });
  reaper.on("error", () => undefined);
  reaper.stdin.on("error", () => undefined);
  reaper.unref();
  (reaper.stdin as { unref?: () => void }).unref?.();
  let armed = true;
  return {
    pid: reaper.pid,
    disarm: () => {
      if (!armed) return;
      armed = false;
      reaper.stdin.end("stopped\n");
    },
  };
}
