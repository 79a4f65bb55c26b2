/**
 * A child process the emulator started and owns: labelled with the environment id, its output split
 * into lines for the log stream, stopped by its PID (SIGTERM, then SIGKILL after a grace period).
 * Its stdin stays open as a lifeline: services started with FAAS_EXIT_WITH_PARENT=1 stop when it
 * closes, so even a SIGKILLed emulator leaves none of them behind.
 *
 * It runs in a process group of its own: Ctrl-C in a terminal signals the whole foreground group at
 * once, and the emulator must stop its processes in order instead (instances and their log agents
 * first, while the AWS emulator they ship to still answers; moto, Redis and the queue last). In the
 * terminal's group, moto died with the first SIGINT and the agents spent ten seconds failing to ship
 * the instances' last lines. What outlives a killed emulator is the lifeline reaper's to remove.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  onLine: (name: string, line: string, stream: "stdout" | "stderr") => void;
  cwd?: string;
  /** Run as this user (the emulator must be root to ask). */
  user?: { uid: number; gid: number };
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(readonly options: ManagedProcessOptions) {
    this.child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      uid: options.user?.uid,
      gid: options.user?.gid,
    });
    this.child.on("error", (err) =>
      options.onLine(options.name, `failed to start: ${err.message}`, "stderr"),
    );
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve({ code, signal });
      });
    });
    for (const stream of ["stdout", "stderr"] as const) {
      const source = this.child[stream];
      if (source)
        createInterface({ input: source }).on("line", (line) => options.onLine(options.name, line, stream));
    }
    this.child.stdin?.on("error", () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.child.pid !== undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, signal);
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.child.stdin?.destroy();
  }
}
