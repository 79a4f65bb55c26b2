/**
 * One function runtime: a Node.js process in a sandbox of its own (settings.ts says which guarantees
 * this machine gives), serving invocations of one function version over the frame channel. Whatever
 * it does — crash, hang, exit, fork, flood its output, send garbage, return what JSON cannot hold —
 * ends at most this sandbox and fails at most the invocation it was running, never the worker.
 *
 * With bubblewrap the process tree is
 *   sh (joins the sandbox's cgroups) → prlimit → setpriv (sandbox uid) → bwrap (outside) → bwrap (pid 1
 *   inside) → node (pid 2 inside) → whatever the function starts.
 * Killing the outer bwrap ends them all: the inner one dies with its parent, and the kernel kills
 * every process of a pid namespace whose pid 1 is gone. The cgroup, when there is one, is killed too.
 */
import { ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Socket } from "node:net";
import path from "node:path";
import { FunctionRecord, MAX_RESULT_BYTES, parseHandler } from "../../../contracts";
import { SandboxCgroup } from "./cgroups";
import {
  encodeFrame,
  FrameReader,
  InvokeMessage,
  parseSandboxMessage,
  SandboxMessage,
} from "./runtime/protocol";
import { RUNTIME_OVERHEAD_MB, SandboxSettings } from "./settings";

export interface RunOutcome {
  status: "succeeded" | "failed" | "timed_out";
  value?: unknown;
  error?: { type: string; message: string };
  logs: string;
  durationMs: number;
}

const LOG_LIMIT = 16 * 1024;
/** Room for the frame around a result of the maximum size. */
const MAX_FRAME_BYTES = MAX_RESULT_BYTES + 64 * 1024;
const IN_SANDBOX = { node: "/opt/faas/node", runtime: "/opt/faas/runtime", code: "/var/task" } as const;
let sequence = 0;

/**
 * How long a parked runtime waits for its next invocation before it is frozen (docs/isolation.md):
 * what a function left running after it answered gets at most this much CPU, within its cgroup's cap.
 */
export const FREEZE_AFTER_IDLE_MS = 20;

/** Without a memory cgroup, how often the watchdog adds up the resident memory of a sandbox's processes. */
const WATCHDOG_INTERVAL_MS = 50;

export class SandboxProcess {
  private readonly child: ChildProcess;
  private readonly channel: Socket;
  private readonly frames = new FrameReader(MAX_FRAME_BYTES);
  private readonly messageListeners = new Set<(m: SandboxMessage) => void>();
  private protocolError: string | undefined;
  private logs = "";
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitListeners: (() => void)[] = [];
  /** Why the watchdog (no cgroups) ended the sandbox, if it did. */
  private watchdogKilled: "memory" | "processes" | undefined;
  private readonly ready: Promise<void>;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly cgroup: SandboxCgroup | undefined;
  private readonly uid: number | undefined;
  /** The runtime's pid on the host, once known (bwrap: node inside the namespaces). */
  private runtimePid: number | undefined;
  private frozen = false;
  /** Set while parked and not yet frozen: the freeze waits FREEZE_AFTER_IDLE_MS for a next invocation. */
  private freezeTimer: NodeJS.Timeout | undefined;
  /**
   * The sandbox's OOM kill count when its current invocation began: read when it is parked (off the
   * next invocation's path; nothing runs while it is frozen), or at the first invocation.
   */
  private oomKillsBefore: number | undefined;
  /** The cgroup's OOM kill count read just before the cgroup was removed, once the sandbox ended. */
  private oomKillsAtEnd: number | undefined;
  readonly id = `sb-${process.pid}-${++sequence}`;
  readonly createdAt = Date.now();
  private readonly startedAt = performance.now();
  /** From the start of this runtime to its "ready" (handler loaded), once it is ready. */
  initMs: number | undefined;

  constructor(
    readonly fn: FunctionRecord,
    codeDir: string,
    private readonly settings: SandboxSettings,
  ) {
    const { module, exportName } = parseHandler(fn.handler);
    const heapMb = Math.max(16, fn.memoryMb - 16);
    const nodeArgs = [`--max-old-space-size=${heapMb}`, "--max-semi-space-size=2"];
    const fnEnv: Record<string, string> = {
      ...fn.env,
      PATH: "/usr/local/bin:/usr/bin:/bin",
      TZ: "UTC",
      HOME: "/tmp",
      FAAS_FUNCTION_NAME: fn.name,
      FAAS_FUNCTION_VERSION: String(fn.version),
      FAAS_FUNCTION_MEMORY_MB: String(fn.memoryMb),
    };

    if (settings.mechanism === "bwrap") {
      const s = settings;
      this.uid = s.uids?.take();
      try {
        this.cgroup = s.cgroups?.create(this.id, {
          memoryBytes: (fn.memoryMb + RUNTIME_OVERHEAD_MB) * 1024 * 1024,
          cpus: s.cpus,
          cpuShares: 1024,
          maxPids: s.maxPids,
        });
      } catch (err) {
        if (this.uid !== undefined) s.uids?.give(this.uid);
        throw err;
      }
      const bootstrap = [
        path.posix.join(IN_SANDBOX.runtime, "bootstrap.js"),
        module,
        exportName,
        IN_SANDBOX.code,
        String(MAX_RESULT_BYTES),
      ];
      const command = [
        "/bin/sh",
        "-c",
        // Join the cgroups before anything of the function exists, so all it starts is inside too.
        'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"',
        "faas-sandbox",
        ...(this.cgroup?.procsFiles ?? []),
        "--",
        s.tools.prlimit,
        "--core=0",
        "--nofile=1024",
        // Each sandbox has its own uid, so this counts its processes only (threads included).
        ...(this.uid !== undefined ? [`--nproc=${s.maxPids}`] : []),
        "--",
        ...(this.uid !== undefined
          ? [s.tools.setpriv, `--reuid=${this.uid}`, `--regid=${this.uid}`, "--clear-groups", "--"]
          : []),
        s.tools.bwrap,
        // Secrets (the function's env) go through a pipe, never on a command line `ps` shows.
        "--args",
        "4",
        IN_SANDBOX.node,
        ...nodeArgs,
        ...bootstrap,
      ];
      const bwrapArgs = [
        ...(s.seccomp !== undefined ? ["--seccomp", "5"] : []),
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--uid",
        "1000",
        "--gid",
        "1000",
        ...s.systemBinds,
        "--ro-bind",
        s.nodePath,
        IN_SANDBOX.node,
        "--ro-bind",
        s.runtimeDir,
        IN_SANDBOX.runtime,
        "--ro-bind",
        codeDir,
        IN_SANDBOX.code,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        String(s.tmpMb * 1024 * 1024),
        "--tmpfs",
        "/tmp",
        "--chdir",
        IN_SANDBOX.code,
        "--clearenv",
        ...Object.entries(fnEnv).flatMap(([k, v]) => ["--setenv", k, v]),
      ];
      const [cmd = "/bin/sh", ...args] = command;
      this.child = spawn(cmd, args, {
        env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
        stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", s.seccomp !== undefined ? "pipe" : "ignore"],
      });
      const argsPipe = this.child.stdio[4] as Socket | null;
      argsPipe?.on("error", () => undefined);
      argsPipe?.end(Buffer.from(bwrapArgs.map((a) => `${a}\0`).join(""), "utf8"));
      const seccompPipe = (this.child.stdio as unknown as (Socket | null | undefined)[])[5];
      seccompPipe?.on("error", () => undefined);
      if (s.seccomp !== undefined) seccompPipe?.end(s.seccomp);
    } else {
      // The opt-in weak mode: a plain child process, as before the sandbox existed.
      this.child = spawn(
        settings.tools.setpriv,
        [
          "--pdeathsig",
          "KILL",
          "--",
          settings.nodePath,
          ...nodeArgs,
          path.join(settings.runtimeDir, "bootstrap.js"),
          module,
          exportName,
          codeDir,
          String(MAX_RESULT_BYTES),
        ],
        {
          cwd: codeDir,
          env: fnEnv,
          stdio: ["ignore", "pipe", "pipe", "pipe"],
          detached: true,
          uid: settings.insecureIdentity?.uid,
          gid: settings.insecureIdentity?.gid,
        },
      );
      this.runtimePid = this.child.pid;
    }

    this.channel = this.child.stdio[3] as Socket;
    this.channel.on("error", () => undefined);
    this.channel.on("data", (chunk: Buffer) => this.onData(chunk));
    this.child.stdout?.on("data", (chunk: Buffer) => this.appendLog(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => this.appendLog(chunk));
    this.child.on("error", (err) => this.appendLog(Buffer.from(`sandbox failed to start: ${err.message}\n`)));
    this.child.on("exit", (code, signal) => {
      this.exited = { code, signal };
      this.cancelFreeze();
      if (this.watchdog) clearInterval(this.watchdog);
      void this.cleanup();
      for (const l of this.exitListeners.splice(0)) l();
    });
    this.ready = this.waitReady();
    this.ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async run(invocationId: string, event: unknown, timeoutMs: number): Promise<RunOutcome> {
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    this.logs = "";
    const oomBefore = this.oomKillsBefore ?? (await this.oomKills());
    this.oomKillsBefore = undefined;
    this.cancelFreeze();
    await this.unfreeze();
    const outcome = await this.exchange(invocationId, event, timeoutMs, deadline);
    await outputWrittenBefore();
    const oomAfter = await this.oomKills();
    if (oomAfter > oomBefore && outcome.status !== "timed_out") {
      // The kernel killed a process of this sandbox for memory: the invocation did not fit.
      this.kill();
      return { ...this.outOfMemory(), logs: this.logs, durationMs: elapsed(started) };
    }
    if (outcome.status === "failed" && !this.alive) {
      const exit = this.exitError(oomAfter > oomBefore);
      // A module that ran out of memory while loading is out of memory too, not an init error.
      if (
        outcome.error?.type === "ProcessExited" ||
        (outcome.error?.type === "InitError" && exit.type === "OutOfMemory")
      )
        return { ...outcome, error: exit, logs: this.logs };
    }
    return { ...outcome, logs: this.logs, durationMs: elapsed(started) };
  }

  /**
   * Makes the sandbox ready to wait for its next invocation: every process the function started is
   * gone (if any is left, the whole sandbox is ended and false returned), and once it has waited
   * FREEZE_AFTER_IDLE_MS the runtime is frozen, so no timer or loop it left behind uses the CPU while
   * it waits. A runtime invoked again within that time is neither frozen nor thawed: the two writes
   * to the freezer's control file cost the worker 0.2-0.4 ms of CPU per invocation.
   */
  async park(): Promise<boolean> {
    if (!this.alive) return false;
    const extra = await this.strayProcesses();
    if (extra > 0 || this.exited !== undefined) {
      this.kill();
      return false;
    }
    this.oomKillsBefore = await this.oomKills();
    this.cancelFreeze();
    this.freezeTimer = setTimeout(() => {
      this.freezeTimer = undefined;
      void this.freeze();
    }, FREEZE_AFTER_IDLE_MS);
    return this.alive;
  }

  kill(): void {
    this.cancelFreeze();
    if (this.child.pid === undefined || this.exited !== undefined) {
      void this.cgroup?.killAll();
      return;
    }
    if (this.settings.mechanism === "insecure-process") {
      try {
        process.kill(-this.child.pid, "SIGKILL");
      } catch {
        this.child.kill("SIGKILL");
      }
    } else {
      // Frozen processes take a SIGKILL only once thawed: the cgroup kill thaws them.
      void this.cgroup?.killAll();
      if (this.frozen && this.cgroup === undefined && this.runtimePid !== undefined)
        signal(this.runtimePid, "SIGCONT");
      this.child.kill("SIGKILL");
    }
  }

  private exchange(
    invocationId: string,
    event: unknown,
    timeoutMs: number,
    deadline: number,
  ): Promise<Omit<RunOutcome, "logs">> {
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<RunOutcome, "logs" | "durationMs">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.messageListeners.delete(onMessage);
        const idx = this.exitListeners.indexOf(onExit);
        if (idx >= 0) this.exitListeners.splice(idx, 1);
        resolve({ ...outcome, durationMs: elapsed(started) });
      };
      const timer = setTimeout(
        () => {
          this.kill();
          finish({
            status: "timed_out",
            error: {
              type: "TimeoutError",
              message: `the function ran longer than its timeout of ${timeoutMs} ms`,
            },
          });
        },
        Math.max(0, deadline - Date.now()),
      );
      const onMessage = (m: SandboxMessage) => {
        if (m.type !== "result" || m.invocationId !== invocationId) return;
        if (!m.ok) {
          finish({ status: "failed", error: m.error });
          return;
        }
        try {
          finish({ status: "succeeded", value: JSON.parse(m.value) as unknown });
        } catch {
          this.kill();
          finish({
            status: "failed",
            error: { type: "InvalidResult", message: "the function's result is not valid JSON" },
          });
        }
      };
      const onExit = () => {
        // Before the runtime said it was ready, the ready promise says why: InitError, with the last
        // lines the process printed (a module that exits while loading).
        if (this.initMs === undefined) return;
        finish({
          status: "failed",
          error:
            this.protocolError !== undefined
              ? { type: "ProtocolError", message: this.protocolError }
              : { type: "ProcessExited", message: "" },
        });
      };
      this.messageListeners.add(onMessage);
      this.exitListeners.push(onExit);
      if (!this.alive && this.initMs !== undefined) {
        onExit();
        return;
      }
      this.ready.then(
        () => {
          if (settled) return;
          const message: InvokeMessage = {
            type: "invoke",
            invocationId,
            event,
            context: {
              functionName: this.fn.name,
              functionVersion: this.fn.version,
              memoryLimitInMB: this.fn.memoryMb,
              deadlineMs: deadline,
            },
          };
          this.channel.write(encodeFrame(message), (err) => {
            if (err)
              finish({
                status: "failed",
                error: { type: "SandboxError", message: `could not hand the event over: ${err.message}` },
              });
          });
        },
        (err: unknown) => {
          const e = err as Error & { type?: string };
          finish({ status: "failed", error: { type: e.type ?? "InitError", message: e.message } });
        },
      );
    });
  }

  private waitReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: SandboxMessage) => {
        if (m.type === "ready") {
          done();
          this.findRuntime();
          this.startWatchdog();
          this.initMs = elapsed(this.startedAt);
          resolve();
        } else if (m.type === "init-error") {
          done();
          reject(Object.assign(new Error(m.error.message), { type: `Init${m.error.type}` }));
        }
      };
      const onExit = () => {
        done();
        // The exit can be seen before the last lines the process printed (its error, most often).
        void outputWrittenBefore().then(() => {
          const why =
            this.protocolError ?? `the function process exited during init (${this.describeExit()})`;
          const tail = this.logs.trim().split("\n").slice(-3).join(" | ");
          reject(Object.assign(new Error(tail ? `${why}: ${tail}` : why), { type: "InitError" }));
        });
      };
      const done = () => {
        this.messageListeners.delete(onMessage);
        const idx = this.exitListeners.indexOf(onExit);
        if (idx >= 0) this.exitListeners.splice(idx, 1);
      };
      this.messageListeners.add(onMessage);
      this.exitListeners.push(onExit);
    });
  }

  private onData(chunk: Buffer): void {
    let raw: unknown[];
    try {
      raw = this.frames.push(chunk);
    } catch (err) {
      this.protocolError = `the function's runtime broke the protocol: ${(err as Error).message}`;
      this.kill();
      return;
    }
    for (const r of raw) {
      const message = parseSandboxMessage(r);
      if (message === undefined) {
        this.protocolError = "the function's runtime sent a message that is not part of the protocol";
        this.kill();
        return;
      }
      for (const listener of [...this.messageListeners]) listener(message);
    }
  }

  /** bwrap: the host pid of node (pid 2 inside), the child of bwrap's pid 1. */
  private findRuntime(): void {
    if (this.runtimePid !== undefined || this.child.pid === undefined) return;
    const [init] = children(this.child.pid);
    if (init === undefined) return;
    const [runtime] = children(init);
    this.runtimePid = runtime;
  }

  /** Processes in the sandbox besides the runtime and bwrap's own. */
  private async strayProcesses(): Promise<number> {
    if (this.cgroup !== undefined) {
      // The outer bwrap, its pid 1 and node.
      return Math.max(0, (await this.cgroup.pids()).length - 3);
    }
    const root = this.child.pid;
    if (root === undefined) return 0;
    const expected = this.settings.mechanism === "bwrap" ? 2 : 0;
    return Math.max(0, descendants(root).length - expected);
  }

  private async oomKills(): Promise<number> {
    return this.oomKillsAtEnd ?? (await this.cgroup?.oomKills()) ?? 0;
  }

  private cancelFreeze(): void {
    if (this.freezeTimer === undefined) return;
    clearTimeout(this.freezeTimer);
    this.freezeTimer = undefined;
  }

  private async freeze(): Promise<void> {
    if (this.cgroup !== undefined) await this.cgroup.freeze().catch(() => undefined);
    else if (this.runtimePid !== undefined) signal(this.runtimePid, "SIGSTOP");
    this.frozen = true;
  }

  private async unfreeze(): Promise<void> {
    if (!this.frozen) return;
    this.frozen = false;
    if (this.cgroup !== undefined) await this.cgroup.thaw().catch(() => undefined);
    else if (this.runtimePid !== undefined) signal(this.runtimePid, "SIGCONT");
  }

  private async cleanup(): Promise<void> {
    await this.cgroup?.killAll().catch(() => undefined);
    // Kept past the cgroup: run() may read it after the removal, to tell an OOM kill from an exit.
    this.oomKillsAtEnd = await this.oomKills().catch(() => undefined);
    await this.cgroup?.remove().catch(() => undefined);
    // The uid is free only once nothing runs as it any more.
    if (this.uid !== undefined) this.settings.uids?.give(this.uid);
  }

  private outOfMemory(): Pick<RunOutcome, "status" | "error"> {
    return {
      status: "failed",
      error: {
        type: "OutOfMemory",
        message: `the function used more than its ${this.fn.memoryMb} MB of memory and was killed`,
      },
    };
  }

  private exitError(oomKilled: boolean): { type: string; message: string } {
    if (this.watchdogKilled === "processes") {
      return {
        type: "TooManyProcesses",
        message:
          `the function ran more than ${this.settings.maxPids} processes at once and was killed ` +
          "(without cgroups the worker watches them one by one, and no more than that many)",
      };
    }
    if (
      oomKilled ||
      this.watchdogKilled === "memory" ||
      /heap out of memory|Reached heap limit/i.test(this.logs)
    ) {
      return this.outOfMemory().error ?? { type: "OutOfMemory", message: "" };
    }
    return {
      type: "ProcessExited",
      message: `the function process exited before returning (${this.describeExit()})`,
    };
  }

  private describeExit(): string {
    const e = this.exited;
    if (e === undefined) return "still running";
    return e.signal !== null ? `signal ${e.signal}` : `exit code ${e.code ?? "?"}`;
  }

  private appendLog(chunk: Buffer): void {
    if (this.logs.length >= LOG_LIMIT) return;
    this.logs += chunk.toString("utf8");
    if (this.logs.length > LOG_LIMIT)
      this.logs = `${this.logs.slice(0, LOG_LIMIT)}\n[logs truncated at ${LOG_LIMIT} bytes]\n`;
  }

  /**
   * Without a memory cgroup the kernel does not hold the limit: watch the resident set of every
   * process of the sandbox instead (the heap limit does not cover buffers, native memory or children).
   * The walk reads three /proc files per process on the worker's event loop, so it also holds the
   * process cap that the pids cgroup would: a sandbox with more than maxPids processes is ended rather
   * than walked (thousands of processes would otherwise stall the worker, and memory spread over
   * processes beyond the walk would go uncounted).
   */
  private startWatchdog(): void {
    if (this.cgroup !== undefined) return;
    const root = this.settings.mechanism === "bwrap" ? this.child.pid : this.runtimePid;
    if (root === undefined) return;
    const limitKb = (this.fn.memoryMb + RUNTIME_OVERHEAD_MB) * 1024;
    // bwrap's two processes (outside and pid 1) are not the function's.
    const maxProcesses = this.settings.maxPids + (this.settings.mechanism === "bwrap" ? 2 : 0);
    this.watchdog = setInterval(() => {
      if (this.frozen) return;
      const tree = [root, ...descendants(root, maxProcesses)];
      const over =
        tree.length > maxProcesses ? "processes" : residentKb(tree) > limitKb ? "memory" : undefined;
      if (over !== undefined) {
        this.watchdogKilled = over;
        this.kill();
      }
    }, WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }
}

/**
 * Resolves once the worker has read what the function wrote to stdout and stderr before its result.
 * Those are sockets of their own, beside the channel the result comes on, and the kernel does not
 * order readiness across sockets: the result was read first, leaving the invocation's logs empty or
 * short (5 in 1 000 invocations through the platform, one result in five in a bare Node parent and
 * child; an empty `logs` failed CI). What the runtime wrote before it sent the result is in those
 * sockets' buffers by now, so the event loop's next poll for I/O reads it: the second setImmediate
 * runs after that poll.
 */
const outputWrittenBefore = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/*
 * The process tree is read from /proc synchronously: these files are generated by the kernel on read
 * and never block, and a read takes about 10 µs here against 100-160 µs through libuv's thread pool
 * (an open, a stat, a read and a close, each a round trip to a pool thread). The watchdog reads a
 * dozen of them per sandbox every WATCHDOG_INTERVAL_MS.
 */

/** A file under /proc, or "" if the process is gone. */
function procFile(path: string): string {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return "";
  }
}

/** Direct children of a process, over all its threads (/proc/<pid>/task/<tid>/children). */
function children(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) =>
    procFile(`/proc/${pid}/task/${tid}/children`)
      .split(" ")
      .filter((p) => p.trim() !== "")
      .map(Number),
  );
}

/** A process's descendants, breadth first; the walk stops once more than `max` are found. */
function descendants(pid: number, max = 10_000): number[] {
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0 && out.length <= max) {
    const next = frontier.flatMap(children);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** The resident memory of these processes together, in KiB. */
function residentKb(pids: number[]): number {
  return pids
    .map((p) => Number(/VmRSS:\s+(\d+)/.exec(procFile(`/proc/${p}/status`))?.[1] ?? 0))
    .reduce((a, b) => a + b, 0);
}
