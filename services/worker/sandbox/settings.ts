/**
 * What the worker's sandboxes can be on this machine, found once at boot and reported in every
 * heartbeat (`GET /api/workers`, `faas dev status`):
 *
 * - bubblewrap: user, pid, mount, network, ipc and uts namespaces; only /usr, the node binary, the
 *   runtime folder and the function's own code are visible, read-only; a private size-capped /tmp;
 *   no network but a loopback of its own; no capabilities; no new user namespaces.
 * - as root: a host uid per sandbox (setpriv) from FAAS_SANDBOX_UID_BASE, and a process limit per uid.
 * - with writable cgroup v1 controllers (root, or a subtree `faas setup` delegated): memory, CPU,
 *   pids and freezer caps for the sandbox and everything it starts. Without, an RSS watchdog.
 *
 * Namespaces are required: when bubblewrap cannot build a sandbox the worker refuses to start, unless
 * the operator names the weak mode (FAAS_SANDBOX=insecure-process). FAAS_SANDBOX_CGROUPS=required
 * makes missing cgroups fatal too (the AMI sets it).
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from "node:fs";
import path from "node:path";
import { SandboxGuarantees } from "../../../contracts";
import { CgroupTree, CONTROLLERS } from "./cgroups";
import { seccompFilter } from "./seccomp";
import { UidPool } from "./uid-pool";

/** What a Node.js runtime needs besides the function's heap; the memory cap is the function's memory plus this. */
export const RUNTIME_OVERHEAD_MB = 48;

export interface SandboxOptions {
  mechanism: "bwrap" | "insecure-process";
  /** The bubblewrap binary; found on the usual paths when not given. */
  bwrapPath?: string;
  cgroups: "auto" | "required" | "off";
  uidBase: number;
  uidCount: number;
  /** The user functions run as in the insecure mode when the worker is root. */
  insecureUser: string;
  tmpMb: number;
  cpus: number;
  maxPids: number;
  /** This worker's folder name in the cgroup tree. */
  name: string;
  /** The worker's slots: its sandboxes together weigh as many processes on the CPU. */
  slots: number;
  /**
   * Where the worker puts its copy of the sandbox runtime (bootstrap and protocol), readable by every
   * sandbox uid and writable by none: the install may sit in a folder they cannot enter (a checkout
   * under /root). Removed by the worker at shutdown.
   */
  runtimeCopy: string;
}

export interface SandboxSettings {
  mechanism: "bwrap" | "insecure-process";
  tools: { bwrap: string; setpriv: string; prlimit: string };
  nodePath: string;
  runtimeDir: string;
  /** The compiled seccomp filter bwrap loads before node (undefined: no table for this architecture). */
  seccomp: Buffer | undefined;
  /** bwrap arguments that show the system's read-only parts (/usr and its compatibility links). */
  systemBinds: string[];
  uids: UidPool | undefined;
  insecureIdentity: { uid: number; gid: number } | undefined;
  cgroups: CgroupTree | undefined;
  tmpMb: number;
  cpus: number;
  maxPids: number;
  guarantees: SandboxGuarantees;
}

export class SandboxUnavailableError extends Error {
  override readonly name = "SandboxUnavailableError";
}

const RUNTIME_DIR = path.join(__dirname, "runtime");

export function prepareSandbox(o: SandboxOptions): SandboxSettings {
  const root = process.getuid?.() === 0;
  const tools = {
    bwrap: o.bwrapPath ?? which("bwrap"),
    setpriv: which("setpriv"),
    prlimit: which("prlimit"),
  };
  const notes: string[] = [];
  const base = {
    tools: {
      bwrap: tools.bwrap ?? "bwrap",
      setpriv: tools.setpriv ?? "setpriv",
      prlimit: tools.prlimit ?? "prlimit",
    },
    nodePath: process.execPath,
    runtimeDir: copyRuntime(o.runtimeCopy),
    systemBinds: systemBinds(),
    seccomp: o.mechanism === "bwrap" ? seccompFilter() : undefined,
    tmpMb: o.tmpMb,
    cpus: o.cpus,
    maxPids: o.maxPids,
  };

  if (o.mechanism === "insecure-process") {
    const identity = root ? passwdIdentity(o.insecureUser) : undefined;
    notes.push(
      "FAAS_SANDBOX=insecure-process: functions run as plain processes and share the worker's network, files and /tmp",
    );
    return {
      ...base,
      mechanism: "insecure-process",
      uids: undefined,
      insecureIdentity: identity,
      cgroups: undefined,
      guarantees: {
        mechanism: "insecure-process",
        uidPerSandbox: false,
        namespaces: [],
        cgroups: [],
        network: "host",
        tmpMb: 0,
        notes,
      },
    };
  }

  const missing = Object.entries(tools)
    .filter(([, p]) => p === undefined)
    .map(([name]) => name);
  if (missing.length > 0)
    throw new SandboxUnavailableError(
      `cannot build function sandboxes: ${missing.join(", ")} not found (apt-get install -y bubblewrap util-linux); ` +
        "set FAAS_SANDBOX=insecure-process to run functions without isolation",
    );
  // The probe runs exactly as a sandbox will: as a sandbox uid when root (so no capability beyond
  // setuid is needed to map it), as the worker's own uid otherwise.
  const probeArgs = [
    base.tools.bwrap,
    ...(base.seccomp !== undefined ? ["--seccomp", "0"] : []),
    "--unshare-all",
    "--unshare-user",
    "--disable-userns",
    "--die-with-parent",
    ...base.systemBinds,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--ro-bind",
    base.nodePath,
    "/opt/faas/node",
    "--ro-bind",
    base.runtimeDir,
    "/opt/faas/runtime",
    "/opt/faas/node",
    "-e",
    "require('/opt/faas/runtime/protocol.js')",
  ];
  const [probeCommand = base.tools.bwrap, ...probeRest] = root
    ? [
        base.tools.setpriv,
        `--reuid=${o.uidBase}`,
        `--regid=${o.uidBase}`,
        "--clear-groups",
        "--",
        ...probeArgs,
      ]
    : probeArgs;
  const probe = spawnSync(probeCommand, probeRest, {
    encoding: "utf8",
    input: base.seccomp,
    timeout: 10_000,
    env: { PATH: "/usr/bin:/bin" },
  });
  if (probe.status !== 0)
    throw new SandboxUnavailableError(
      `cannot build function sandboxes: bubblewrap failed (${(probe.stderr || probe.error?.message || `exit ${probe.status}`).trim()}); ` +
        "namespaces need unprivileged user namespaces (or, in a container, CAP_SYS_ADMIN: docs/isolation.md), " +
        `and every sandbox uid must be able to read ${base.nodePath} (install Node.js in a world-readable place); ` +
        "set FAAS_SANDBOX=insecure-process to run functions without isolation",
    );

  let cgroups: CgroupTree | undefined;
  if (o.cgroups !== "off") {
    const tree = CgroupTree.open(o.name, "/proc/self", 1024 * o.slots);
    if (tree instanceof CgroupTree) cgroups = tree;
    else if (o.cgroups === "required")
      throw new SandboxUnavailableError(`FAAS_SANDBOX_CGROUPS=required but ${tree.unavailable}`);
    else
      notes.push(`no cgroup caps: ${tree.unavailable}; memory is held by an RSS watchdog, CPU is not capped`);
  } else notes.push("FAAS_SANDBOX_CGROUPS=off: memory is held by an RSS watchdog, CPU is not capped");
  if (!root)
    notes.push(
      "the worker is not root: every sandbox runs as the worker's own host uid (in its own namespaces)",
    );

  return {
    ...base,
    mechanism: "bwrap",
    uids: root ? new UidPool(o.uidBase, o.uidCount) : undefined,
    insecureIdentity: undefined,
    cgroups,
    guarantees: {
      mechanism: "bwrap",
      uidPerSandbox: root,
      namespaces: ["user", "pid", "mount", "network", "ipc", "uts", "cgroup"],
      cgroups: cgroups === undefined ? [] : [...CONTROLLERS],
      network: "none",
      seccomp: base.seccomp !== undefined,
      tmpMb: o.tmpMb,
      notes,
    },
  };
}

/** A copy of the runtime folder: a folder of 0755 with files of 0444, owned by the worker. */
function copyRuntime(target: string): string {
  rmSync(target, { recursive: true, force: true });
  mkdirSync(target, { recursive: true, mode: 0o755 });
  chmodSync(target, 0o755);
  for (const file of readdirSync(RUNTIME_DIR).filter((f) => f.endsWith(".js"))) {
    copyFileSync(path.join(RUNTIME_DIR, file), path.join(target, file));
    chmodSync(path.join(target, file), 0o444);
  }
  return target;
}

function which(command: string): string | undefined {
  for (const dir of ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]) {
    const p = path.join(dir, command);
    if (existsSync(p)) return p;
  }
  try {
    return execFileSync("sh", ["-c", 'command -v "$0"', command], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** /usr read-only, and /bin, /lib, /lib64, /sbin as they are here: links into /usr, or folders. */
function systemBinds(): string[] {
  const out = ["--ro-bind", "/usr", "/usr"];
  for (const top of ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]) {
    let stat;
    try {
      stat = lstatSync(top);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) out.push("--symlink", readlinkSync(top), top);
    else if (stat.isDirectory()) out.push("--ro-bind", top, top);
  }
  return out;
}

function passwdIdentity(user: string): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.split(":")[0] === user);
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error(`FAAS_SANDBOX_USER: no user '${user}' in /etc/passwd`);
  return { uid: Number(uid), gid: Number(gid) };
}
