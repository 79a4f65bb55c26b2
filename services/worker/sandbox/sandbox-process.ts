/**
 * One function process: a Node.js child with an empty environment (only the function's own variables),
 * started as an unprivileged user when the worker may switch users, in its own process group, with a
 * V8 heap limit and a resident-memory watchdog, killed with its whole group at its timeout. A crash,
 * hang, `process.exit` or unhandled rejection ends that process only, never the worker.
 */
import { ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { FunctionRecord } from "../../../contracts";
import type { InvokeMessage, SandboxMessage } from "./protocol";

export interface SandboxIdentity {
  uid?: number;
  gid?: number;
}

export interface RunOutcome {
  status: "succeeded" | "failed" | "timed_out";
  value?: unknown;
  error?: { type: string; message: string };
  logs: string;
  durationMs: number;
}

const LOG_LIMIT = 16 * 1024;
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));
/** What a Node.js process needs besides the heap; the RSS cap is the function's memory plus this. */
const RUNTIME_OVERHEAD_MB = 48;

export class SandboxProcess {
  private readonly child: ChildProcess;
  private logs = "";
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitListeners: (() => void)[] = [];
  private oomKilled = false;
  private readonly ready: Promise<void>;
  private watchdog: NodeJS.Timeout | undefined;
  readonly createdAt = Date.now();

  constructor(
    readonly fn: FunctionRecord,
    codeDir: string,
    bootstrapPath: string,
    identity: SandboxIdentity,
  ) {
    const heapMb = Math.max(16, fn.memoryMb - 16);
    const nodeArgs = [
      `--max-old-space-size=${heapMb}`,
      "--max-semi-space-size=2",
      bootstrapPath,
      fn.handler,
      codeDir,
    ];
    // setpriv's parent-death signal kills the function if the worker dies, even by SIGKILL: a function
    // in its own process group would otherwise outlive it.
    const [command, args] = SETPRIV
      ? [SETPRIV, ["--pdeathsig", "KILL", "--", process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
    this.child = spawn(command, args, {
      cwd: codeDir,
      env: {
        ...fn.env,
        PATH: "/usr/local/bin:/usr/bin:/bin",
        TZ: "UTC",
        HOME: "/tmp",
        FAAS_FUNCTION_NAME: fn.name,
        FAAS_FUNCTION_VERSION: String(fn.version),
        FAAS_FUNCTION_MEMORY_MB: String(fn.memoryMb),
      },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
      detached: true,
      uid: identity.uid,
      gid: identity.gid,
    });
    this.child.stdout?.on("data", (chunk: Buffer) => this.appendLog(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => this.appendLog(chunk));
    this.child.on("exit", (code, signal) => {
      this.exited = { code, signal };
      if (this.watchdog) clearInterval(this.watchdog);
      for (const l of this.exitListeners.splice(0)) l();
    });
    this.child.on("error", () => undefined);
    this.startWatchdog(fn.memoryMb + RUNTIME_OVERHEAD_MB);

    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: SandboxMessage) => {
        if (m.type === "ready") {
          cleanup();
          resolve();
        } else if (m.type === "init-error") {
          cleanup();
          reject(Object.assign(new Error(m.error.message), { type: `Init${m.error.type}` }));
        }
      };
      const onExit = () => {
        cleanup();
        reject(
          Object.assign(new Error(`the function process exited during init (${this.describeExit()})`), {
            type: "InitError",
          }),
        );
      };
      const cleanup = () => {
        this.child.off("message", onMessage);
        this.exitListeners.splice(this.exitListeners.indexOf(onExit), 1);
      };
      this.child.on("message", onMessage);
      this.exitListeners.push(onExit);
    });
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
    const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
    return new Promise<RunOutcome>((resolve) => {
      let settled = false;
      const finish = (outcome: Omit<RunOutcome, "logs" | "durationMs">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.child.off("message", onMessage);
        const idx = this.exitListeners.indexOf(onExit);
        if (idx >= 0) this.exitListeners.splice(idx, 1);
        resolve({ ...outcome, logs: this.logs, durationMs: elapsed() });
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
        if (m.ok) finish({ status: "succeeded", value: JSON.parse(m.value) as unknown });
        else finish({ status: "failed", error: m.error });
      };
      const onExit = () => {
        finish({ status: "failed", error: this.exitError() });
      };
      this.child.on("message", onMessage);
      this.exitListeners.push(onExit);
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
          this.child.send(message, (err) => {
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

  kill(): void {
    if (this.child.pid === undefined || this.exited !== undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      this.child.kill("SIGKILL");
    }
  }

  private exitError(): { type: string; message: string } {
    if (this.oomKilled || /heap out of memory|Reached heap limit/i.test(this.logs)) {
      return {
        type: "OutOfMemory",
        message: `the function used more than its ${this.fn.memoryMb} MB of memory and was killed`,
      };
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

  /** The heap limit does not cover buffers and native memory: watch the resident set as well. */
  private startWatchdog(limitMb: number): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    this.watchdog = setInterval(() => {
      readFile(`/proc/${pid}/status`, "utf8").then(
        (status) => {
          const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
          if (kb / 1024 > limitMb) {
            this.oomKilled = true;
            this.kill();
          }
        },
        () => undefined,
      );
    }, 50);
    this.watchdog.unref();
  }
}
