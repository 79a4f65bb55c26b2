/**
 * One cgroup per sandbox (cgroup v1: memory, cpu, pids, freezer), a child of the worker's own cgroup
 * in each controller — or of a subtree delegated to the worker's user by `faas setup` — so the
 * sandbox's limits hold for the function and every process it starts, and the worker can freeze the
 * sandbox between invocations and end every process in it at once.
 *
 * cgroup v2 (a unified hierarchy with these controllers) is not supported yet: the worker then reports
 * no cgroup guarantees and falls back to its RSS watchdog (docs/isolation.md).
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { rmdir } from "node:fs/promises";
import path from "node:path";

export const CONTROLLERS = ["memory", "cpu", "pids", "freezer"] as const;
type Controller = (typeof CONTROLLERS)[number];

export interface SandboxLimits {
  memoryBytes: number;
  /** CPU time per 100 ms period, in cores (1 = one full core). */
  cpus: number;
  /** Relative weight against the other sandboxes when the CPU is contended (cpu.shares). */
  cpuShares: number;
  maxPids: number;
}

export class CgroupTree {
  private constructor(private readonly parents: Record<Controller, string>) {}

  /**
   * The tree for this worker, or why there is none. `name` is this worker's folder under each parent
   * (removed at `close`), so workers sharing a host never touch each other's sandboxes.
   */
  static open(
    name: string,
    procRoot = "/proc/self",
    cpuShares?: number,
  ): CgroupTree | { unavailable: string } {
    const own = ownCgroups(procRoot);
    const mounts = cgroupMounts(procRoot);
    if (mounts === undefined)
      return { unavailable: "no cgroup v1 hierarchy is mounted (cgroup v2 is not supported yet)" };
    const parents = {} as Record<Controller, string>;
    const uid = process.getuid?.() ?? 0;
    for (const c of CONTROLLERS) {
      const mount = mounts.get(c);
      if (mount === undefined) return { unavailable: `the cgroup v1 '${c}' controller is not mounted` };
      const candidates = [ownDir(mount, own.get(c)), path.join(mount.point, `faas-user-${uid}`)];
      const usable = candidates.find((dir) => tryMkdir(path.join(dir, name)));
      if (usable !== undefined) void sweepDeadWorkers(usable);
      if (usable === undefined)
        return {
          unavailable: `cannot create cgroups under ${candidates.join(" or ")} (as uid ${uid}; \`sudo bin/faas setup\` delegates one)`,
        };
      parents[c] = path.join(usable, name);
    }
    // cgroup v1 weighs a child group like one task of its parent: all the sandboxes together would get
    // the CPU share of a single process next to the worker's own threads and neighbours. Weigh the
    // worker's folder as its number of slots.
    if (cpuShares !== undefined) {
      try {
        writeFileSync(
          path.join(parents.cpu, "cpu.shares"),
          String(Math.min(262_144, Math.max(2, cpuShares))),
        );
      } catch {
        // a delegated subtree may not allow it; the default weight stays
      }
    }
    return new CgroupTree(parents);
  }

  create(id: string, limits: SandboxLimits): SandboxCgroup {
    const dirs = {} as Record<Controller, string>;
    for (const c of CONTROLLERS) dirs[c] = path.join(this.parents[c], id);
    try {
      for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
      this.limit(dirs, limits);
    } catch (err) {
      for (const dir of Object.values(dirs)) void removeTree(dir, 0);
      throw err;
    }
    return new SandboxCgroup(dirs);
  }

  private limit(dirs: Record<Controller, string>, limits: SandboxLimits): void {
    const limit = Math.floor(limits.memoryBytes);
    writeFileSync(path.join(dirs.memory, "memory.limit_in_bytes"), String(limit));
    const memsw = path.join(dirs.memory, "memory.memsw.limit_in_bytes");
    if (existsSync(memsw)) writeFileSync(memsw, String(limit));
    writeFileSync(path.join(dirs.memory, "memory.swappiness"), "0");
    writeFileSync(path.join(dirs.cpu, "cpu.cfs_period_us"), "100000");
    writeFileSync(
      path.join(dirs.cpu, "cpu.cfs_quota_us"),
      String(Math.max(1000, Math.round(limits.cpus * 100_000))),
    );
    writeFileSync(path.join(dirs.cpu, "cpu.shares"), String(limits.cpuShares));
    writeFileSync(path.join(dirs.pids, "pids.max"), String(limits.maxPids));
  }

  /** Removes this worker's folders once the sandboxes in them are gone (waits up to `waitMs`). */
  async close(waitMs = 3000): Promise<void> {
    await Promise.all(Object.values(this.parents).map((dir) => removeTree(dir, waitMs)));
  }
}

export class SandboxCgroup {
  constructor(private readonly dirs: Record<Controller, string>) {}

  /** The files a process writes its pid to, to join this sandbox in every controller. */
  get procsFiles(): string[] {
    return CONTROLLERS.map((c) => path.join(this.dirs[c], "cgroup.procs"));
  }

  // The control files are read and written synchronously: they are kernel memory, answered at once,
  // and on the invocation's path an async read costs ten times the CPU (a thread-pool round trip for
  // open, fstat, read and close: 107-161 µs against 10 µs, measured) and a millisecond of latency.

  pids(): Promise<number[]> {
    return Promise.resolve(
      readControl(path.join(this.dirs.pids, "cgroup.procs"), "")
        .split("\n")
        .filter((l) => l !== "")
        .map(Number),
    );
  }

  memoryBytes(): Promise<number> {
    return Promise.resolve(Number(readControl(path.join(this.dirs.memory, "memory.usage_in_bytes"), "0")));
  }

  /** How many processes the kernel killed for memory in this sandbox so far. */
  oomKills(): Promise<number> {
    const text = readControl(path.join(this.dirs.memory, "memory.oom_control"), "");
    const kills = /oom_kill (\d+)/.exec(text)?.[1];
    if (kills !== undefined) return Promise.resolve(Number(kills));
    // Kernels before 4.13 only say whether the limit was hit.
    return Promise.resolve(
      Number(readControl(path.join(this.dirs.memory, "memory.failcnt"), "0")) > 0 ? 1 : 0,
    );
  }

  /** Starts freezing; the kernel completes it on its own (an invocation sent meanwhile waits in the socket). */
  async freeze(): Promise<void> {
    await this.setFreezer("FROZEN", false);
  }

  async thaw(): Promise<void> {
    await this.setFreezer("THAWED", false);
  }

  /** SIGKILLs every process in the sandbox, frozen first so none can fork meanwhile. */
  async killAll(): Promise<void> {
    await this.setFreezer("FROZEN").catch(() => undefined);
    for (let round = 0; round < 5; round++) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await this.setFreezer("THAWED").catch(() => undefined);
  }

  /** Removes the sandbox's cgroups once its processes are gone (waits up to `waitMs` for them). */
  async remove(waitMs = 2000): Promise<void> {
    const deadline = Date.now() + waitMs;
    while ((await this.pids()).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await Promise.all(Object.values(this.dirs).map((dir) => rmdir(dir).catch(() => undefined)));
  }

  private async setFreezer(state: "FROZEN" | "THAWED", wait = true): Promise<void> {
    const file = path.join(this.dirs.freezer, "freezer.state");
    // Returns at once: the kernel freezes (FREEZING) or thaws on its own.
    writeFileSync(file, state);
    if (!wait) return;
    for (let i = 0; i < 100; i++) {
      if (readFileSync(file, "utf8").trim() === state) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** A control file's text, or `fallback` when it cannot be read (the cgroup is gone). */
function readControl(file: string, fallback: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

/**
 * For the local cloud at stop: removes the cgroup folders its workers left (workers killed by chaos
 * or by a test), under this process's own cgroups and any delegated subtree.
 */
export async function sweepWorkerCgroups(procRoot = "/proc/self"): Promise<void> {
  const own = ownCgroups(procRoot);
  const mounts = cgroupMounts(procRoot);
  if (mounts === undefined) return;
  const pending: Promise<unknown>[] = [];
  for (const c of CONTROLLERS) {
    const mount = mounts.get(c);
    if (mount === undefined) continue;
    const parents = [ownDir(mount, own.get(c))];
    try {
      for (const e of readdirSync(mount.point))
        if (e.startsWith("faas-user-")) parents.push(path.join(mount.point, e));
    } catch {
      // nothing to sweep
    }
    for (const parent of parents) pending.push(sweepDeadWorkers(parent));
  }
  await Promise.all(pending);
}

/**
 * Removes the folders of workers of this host that died without cleaning up (SIGKILL). Their
 * sandboxes got the parent-death signal, which a frozen sandbox takes only once thawed: removeTree
 * thaws and kills what is left first.
 */
function sweepDeadWorkers(parent: string): Promise<boolean[]> {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return Promise.resolve([]);
  }
  return Promise.all(
    entries
      .filter((e) => {
        const pid = /^faas-worker-(\d+)$/.exec(e)?.[1];
        return pid !== undefined && !alive(Number(pid));
      })
      .map((e) => removeTree(path.join(parent, e), 2000)),
  );
}

/** This process's own folder of a controller's mount (a mount may show only a subtree: its root is cut off). */
function ownDir(mount: { point: string; root: string }, ownPath = "/"): string {
  return path.join(mount.point, ownPath.startsWith(mount.root) ? ownPath.slice(mount.root.length) : ownPath);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** rmdir of a cgroup folder and every folder below it, deepest first, retried while processes leave. */
export async function removeTree(dir: string, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (removeTreeOnce(dir)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function removeTreeOnce(dir: string): boolean {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
  let ok = true;
  for (const child of children) ok = removeTreeOnce(path.join(dir, child)) && ok;
  endProcesses(dir);
  try {
    rmdirSync(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
  return ok;
}

/**
 * Ends what is left in one cgroup folder: thawed first (a frozen process takes no signal, not even
 * the parent-death signal of its sandbox), then SIGKILLed.
 */
function endProcesses(dir: string): void {
  try {
    const freezer = path.join(dir, "freezer.state");
    if (existsSync(freezer) && readFileSync(freezer, "utf8").trim() !== "THAWED")
      writeFileSync(freezer, "THAWED");
    for (const pid of readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n")) {
      if (pid === "") continue;
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // gone already
      }
    }
  } catch {
    // the folder went away meanwhile
  }
}

function tryMkdir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

/** Each v1 controller's path for this process, from /proc/self/cgroup ("4:memory:/a/b"). */
function ownCgroups(procRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, "cgroup"), "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const [, controllers = "", p = "/"] = line.split(":");
    for (const c of controllers.split(",")) if (c !== "") out.set(c, p);
  }
  return out;
}

/** Where each v1 controller is mounted, from /proc/self/mountinfo. */
function cgroupMounts(procRoot: string): Map<string, { point: string; root: string }> | undefined {
  let text: string;
  try {
    text = readFileSync(path.join(procRoot, "mountinfo"), "utf8");
  } catch {
    return undefined;
  }
  const out = new Map<string, { point: string; root: string }>();
  for (const line of text.split("\n")) {
    const [left = "", right = ""] = line.split(" - ");
    const [fsType, , superOptions = ""] = right.split(" ");
    if (fsType !== "cgroup") continue;
    const [, , , root = "/", point] = left.split(" ");
    if (point === undefined) continue;
    for (const option of superOptions.split(",")) {
      if ((CONTROLLERS as readonly string[]).includes(option))
        out.set(option, { point, root: root === "/" ? "" : root });
    }
  }
  return out.size > 0 ? out : undefined;
}

/**
 * `faas setup`: as root, gives a user a cgroup subtree of their own in each controller
 * (`/sys/fs/cgroup/<controller>/faas-user-<uid>`), so workers run by that user cap their sandboxes
 * too. It grants only that: the user can create cgroups below it and move their own processes there.
 * cgroup file systems do not survive a reboot: run it again after one.
 */
export function delegateCgroups(uid: number, gid: number, procRoot = "/proc/self"): string[] {
  const mounts = cgroupMounts(procRoot);
  if (mounts === undefined)
    throw new Error("no cgroup v1 hierarchy is mounted (cgroup v2 is not supported yet)");
  const made: string[] = [];
  for (const c of CONTROLLERS) {
    const mount = mounts.get(c);
    if (mount === undefined) throw new Error(`the cgroup v1 '${c}' controller is not mounted`);
    const dir = path.join(mount.point, `faas-user-${uid}`);
    mkdirSync(dir, { recursive: true });
    for (const file of ["", "cgroup.procs", "tasks"]) chownSync(path.join(dir, file), uid, gid);
    made.push(dir);
  }
  return made;
}

/** Undoes `delegateCgroups`; fails while a worker of that user still runs sandboxes. */
export async function undelegateCgroups(uid: number, procRoot = "/proc/self"): Promise<string[]> {
  const dirs = [
    ...new Set(
      [...(cgroupMounts(procRoot)?.values() ?? [])].map((m) => path.join(m.point, `faas-user-${uid}`)),
    ),
  ];
  const present = dirs.filter((d) => existsSync(d));
  // Together: the freezer's folders thaw what the others are waiting for.
  const done = await Promise.all(present.map((d) => removeTree(d, 3000)));
  const stuck = present.filter((_, i) => done[i] !== true);
  if (stuck.length > 0) throw new Error(`${stuck.join(", ")} still hold running sandboxes`);
  return present;
}
