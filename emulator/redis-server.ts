/**
 * Redis as a child process on 127.0.0.1. It keeps an append-only file (fsync on every write) in the
 * environment's data folder, so a restart — a chaos scenario — loses no accepted invocation, as a
 * replicated ElastiCache failover would not. It requires a password, as ElastiCache's auth token does:
 * the loopback is shared by every process of the machine. The password is written to a config file
 * in the data folder (mode 600), never on the command line, where `ps` would show it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { findOnPath } from "./aws-emulator";
import { ManagedProcess } from "./managed-process";
import { assertPortFree, PrerequisiteError, waitForPort } from "./ports";

type OnLine = (name: string, line: string, stream: "stdout" | "stderr") => void;

export class RedisHandle {
  private process: ManagedProcess | undefined;
  /** Named after the environment, so that leftovers.ts finds it after a SIGKILLed emulator. */
  private readonly dataDir: string;

  private constructor(
    readonly port: number,
    private readonly password: string,
    private readonly command: string,
    private readonly label: Record<string, string>,
    private readonly onLine: OnLine,
  ) {
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), `faas-redis-${label.FAAS_ENV_ID ?? "test"}-`));
  }

  get url(): string {
    return `redis://:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  static async start(
    port: number,
    password: string,
    label: Record<string, string>,
    onLine: OnLine,
  ): Promise<RedisHandle> {
    const command = findOnPath("redis-server");
    if (command === undefined) {
      throw new PrerequisiteError(
        "redis-server is not installed: `apt-get install -y redis-server` (or use a running Redis: `faas dev up --redis-url <url>`)",
      );
    }
    await assertPortFree(port, "Redis", "--redis-port");
    if (!/^[\w.~-]{16,}$/.test(password))
      throw new Error("the Redis password must be 16 or more letters, digits or '_.~-'");
    const handle = new RedisHandle(port, password, command, label, onLine);
    const config = path.join(handle.dataDir, "redis.conf");
    writeFileSync(config, `requirepass ${password}\n`, { mode: 0o600 });
    await handle.launch();
    return handle;
  }

  private async launch(): Promise<void> {
    const proc = new ManagedProcess({
      name: "redis",
      command: this.command,
      args: [
        path.join(this.dataDir, "redis.conf"),
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--dir",
        this.dataDir,
        "--save",
        "",
        // The append-only file is written before Redis answers and fsynced every second: a killed
        // Redis loses nothing it acknowledged (the kernel holds it); only the host's crash could lose
        // the last second. An fsync per write (`always`) cost about 0.25 ms on each of the three
        // writes of every synchronous invocation here (docs/performance.md).
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--loglevel",
        "warning",
      ],
      env: { ...process.env, ...this.label },
      onLine: this.onLine,
    });
    this.process = proc;
    await waitForPort(this.port, 10_000, () => proc.running).catch((err: unknown) => {
      throw new PrerequisiteError(`redis-server did not start on port ${this.port}: ${String(err)}`);
    });
  }

  /** Stops Redis (SIGTERM, or SIGKILL when `hard`), then starts it again on the same port and data. */
  async restart(downMs = 0, hard = false): Promise<void> {
    await this.stopProcess(hard);
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  async stopProcess(hard = false): Promise<void> {
    const proc = this.process;
    if (proc === undefined) return;
    if (hard) proc.signal("SIGKILL");
    await proc.stop();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    this.removeData();
  }

  /**
   * Removes the data folder now, synchronously (an `exit` handler's last step, after a SIGKILL): a
   * Redis still dying may write a file meanwhile, hence the retries.
   */
  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}
