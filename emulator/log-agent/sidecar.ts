/**
 * An instance's log file and its agent on the process backend, laid out as on the AMI under a folder
 * of the instance's own:
 *   var/log/faas/<role>.log                       the service's stdout and stderr, line by line
 *   opt/faas/etc/cloudwatch-agent.json            the AMI's template, rendered as faas-boot.sh does
 *   opt/aws/amazon-cloudwatch-agent/logs/state/   the agent's offsets
 * The emulator keeps reading the service's output through its pipe (the terminal, tests, chaos and
 * the benchmark see every line as before) and appends each line to the file, as systemd's
 * `StandardOutput=append:` does. The agent is a process of its own beside the service: it starts with
 * the instance, keeps running when the service is killed (on EC2 a crashed service is not a lost
 * instance), and is stopped — SIGTERM, so it ships what is left — only when the instance is
 * terminated. Labelled with the environment's id, and stopped with the emulator by its stdin lifeline.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { ManagedProcess } from "../managed-process";
import { waitFor } from "../wait";
import { renderAgentConfig } from "./agent-config";

export interface InstanceLogFiles {
  logFile: string;
  configFile: string;
  stateDir: string;
  /** Written by the agent once it handles SIGTERM. */
  pidFile: string;
}

/** Where an instance's log file, agent configuration and agent state live under its own folder. */
export function instanceLogFiles(instanceRoot: string, role: string): InstanceLogFiles {
  return {
    logFile: path.join(instanceRoot, "var", "log", "faas", `${role}.log`),
    configFile: path.join(instanceRoot, "opt", "faas", "etc", "cloudwatch-agent.json"),
    stateDir: path.join(instanceRoot, "opt", "aws", "amazon-cloudwatch-agent", "logs", "state"),
    pidFile: path.join(
      instanceRoot,
      "opt",
      "aws",
      "amazon-cloudwatch-agent",
      "var",
      "amazon-cloudwatch-agent.pid",
    ),
  };
}

export interface LogSidecarOptions {
  instanceId: string;
  role: string;
  /** The instance's own folder on the host. */
  instanceRoot: string;
  logGroup: string;
  awsEndpoint: string;
  labels: Record<string, string>;
  /** The agent's own output (not shipped: on the AMI it goes to the agent's log file). */
  onAgentLine: (line: string, stream: "stdout" | "stderr") => void;
}

export class LogSidecar {
  readonly files: InstanceLogFiles;
  private fd: number | undefined;
  private agent: ManagedProcess | undefined;

  constructor(private readonly o: LogSidecarOptions) {
    this.files = instanceLogFiles(o.instanceRoot, o.role);
  }

  get agentPid(): number | undefined {
    return this.agent?.pid;
  }

  /** The instance boots: its log file opened for appending, its agent started. */
  start(): void {
    if (this.agent !== undefined) return;
    mkdirSync(path.dirname(this.files.logFile), { recursive: true });
    mkdirSync(path.dirname(this.files.configFile), { recursive: true });
    mkdirSync(path.dirname(this.files.pidFile), { recursive: true });
    rmSync(this.files.pidFile, { force: true });
    writeFileSync(this.files.configFile, renderAgentConfig(this.files.logFile, this.o.logGroup));
    this.fd = openSync(this.files.logFile, "a");
    this.agent = new ManagedProcess({
      name: `agent ${this.o.instanceId}`,
      command: process.execPath,
      args: [path.join(__dirname, "main.js")],
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: this.o.awsEndpoint,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        FAAS_INSTANCE_ID: this.o.instanceId,
        FAAS_AGENT_CONFIG: this.files.configFile,
        FAAS_AGENT_STATE_DIR: this.files.stateDir,
        FAAS_AGENT_PID_FILE: this.files.pidFile,
        FAAS_EXIT_WITH_PARENT: "1",
        ...this.o.labels,
      },
      onLine: (_name, line, stream) => this.o.onAgentLine(line, stream),
    });
  }

  /** One line of the service's output, appended as systemd appends it. */
  append(line: string): void {
    if (this.fd !== undefined) writeSync(this.fd, `${line}\n`);
  }

  /** The instance is terminated: the file closed, the agent SIGTERMed to ship what is left. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const agent = this.agent;
    if (agent === undefined) return;
    // An instance terminated as it boots: a SIGTERM before Node has run the agent's first line would
    // kill it with nothing shipped, which SIGTERM on EC2 (after the agent started) never does.
    await waitFor("the log agent to handle SIGTERM", () => existsSync(this.files.pidFile), {
      timeoutMs: 5000,
      intervalMs: 10,
      abortIf: () => (agent.running ? undefined : "it exited"),
    }).catch(() => undefined);
    await agent.stop(graceMs);
  }
}
