/**
 * A container instance's log file and its CloudWatch agent, the Docker counterpart of
 * log-agent/sidecar.ts. The emulator keeps reading the service's output through its attach stream (the
 * terminal, tests and chaos see every line as before) and appends each line to the instance's file on
 * this host, `<tmp>/faas-instances-<env>/<instance>/var/log/faas/<role>.log`, as systemd's
 * `StandardOutput=append:` does on the AMI. The agent is a third container of the instance,
 * `<id>-agent`, running the same program as on the process runtime (emulator/log-agent/main.ts) from
 * the controller image, with the instance's folders bind-mounted where the AMI has them
 * (`/var/log/faas`, `/opt/faas/etc`, `/opt/aws/amazon-cloudwatch-agent`), so its configuration is the
 * AMI's template rendered with the AMI's own path.
 *
 * It has a network namespace of its own on the cloud network (it reaches moto as `aws:5000`, as the
 * agent reaches CloudWatch Logs' endpoint), not the instance's `-eni` one: it must outlive the service
 * and ship the service's last lines after the service is gone, while the instance's interface goes
 * with the instance. Like the process agent it keeps running when the service is killed, and is sent
 * SIGTERM (15 s to ship what is left) only when the instance is terminated. Runs as the emulator's own
 * user (root on the AMI, `run_as_user`), with every capability dropped: it owns the folders it writes.
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import type { Demuxer } from "./containers";
import { renderAgentConfig } from "../../log-agent/agent-config";
import { instanceLogFiles, InstanceLogFiles } from "../../log-agent/sidecar";
import { waitFor } from "../../wait";

export interface AgentContainerOptions {
  name: string;
  image: string;
  instanceId: string;
  role: string;
  /** The instance's folder on this host. */
  instanceRoot: string;
  logGroup: string;
  /** A network where `aws` is the AWS emulator. */
  network: string;
  labels: Record<string, string>;
  /** The agent's own output (not shipped: on the AMI it goes to the agent's log file). */
  onLine: (line: string, stream: "stdout" | "stderr") => void;
}

/** Where the AMI keeps the log file and the agent's files; the instance's folders are mounted there. */
const AMI_LOG_DIR = "/var/log/faas";
const AMI_ETC_DIR = "/opt/faas/etc";
const AMI_AGENT_DIR = "/opt/aws/amazon-cloudwatch-agent";

export class AgentContainer {
  private fd: number | undefined;
  /** Its output ended: the agent exited. */
  private ended = false;

  private constructor(
    readonly container: Docker.Container,
    readonly files: InstanceLogFiles,
  ) {}

  /** Opens the instance's log file for appending and starts the agent's container. */
  static async start(docker: Docker, o: AgentContainerOptions): Promise<AgentContainer> {
    const files = instanceLogFiles(o.instanceRoot, o.role);
    const hostDir = (file: string, levels: number) => {
      let dir = file;
      for (let i = 0; i < levels; i++) dir = dir.slice(0, dir.lastIndexOf("/"));
      return dir;
    };
    const logDir = hostDir(files.logFile, 1);
    const etcDir = hostDir(files.configFile, 1);
    const agentDir = hostDir(files.pidFile, 2);
    for (const dir of [logDir, etcDir, files.stateDir, hostDir(files.pidFile, 1)])
      mkdirSync(dir, { recursive: true });
    rmSync(files.pidFile, { force: true });
    writeFileSync(files.configFile, renderAgentConfig(`${AMI_LOG_DIR}/${o.role}.log`, o.logGroup));
    const inside = (hostPath: string) => `${AMI_AGENT_DIR}${hostPath.slice(agentDir.length)}`;
    const container = await docker.createContainer({
      name: o.name,
      Image: o.image,
      Cmd: ["node", "dist/emulator/log-agent/main.js"],
      User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      Env: Object.entries({
        AWS_ENDPOINT_URL: "http://aws:5000",
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        FAAS_INSTANCE_ID: o.instanceId,
        FAAS_AGENT_CONFIG: `${AMI_ETC_DIR}/cloudwatch-agent.json`,
        FAAS_AGENT_STATE_DIR: inside(files.stateDir),
        FAAS_AGENT_PID_FILE: inside(files.pidFile),
      }).map(([k, v]) => `${k}=${v}`),
      Labels: { ...o.labels, "faas.part": "agent" },
      HostConfig: {
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges:true"],
        NetworkMode: o.network,
        Binds: [`${logDir}:${AMI_LOG_DIR}:ro`, `${etcDir}:${AMI_ETC_DIR}:ro`, `${agentDir}:${AMI_AGENT_DIR}`],
      },
    });
    const agent = new AgentContainer(container, files);
    try {
      agent.fd = openSync(files.logFile, "a");
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const out = new PassThrough();
      const err = new PassThrough();
      (container.modem as Demuxer).demuxStream(stream, out, err);
      stream.on("end", () => {
        agent.ended = true;
        out.end();
        err.end();
      });
      createInterface({ input: out }).on("line", (line) => o.onLine(line, "stdout"));
      createInterface({ input: err }).on("line", (line) => o.onLine(line, "stderr"));
      await container.start();
      return agent;
    } catch (err) {
      await agent.stop(0);
      throw err;
    }
  }

  /** One line of the service's output, appended as systemd appends it. */
  append(line: string): void {
    if (this.fd !== undefined) writeSync(this.fd, `${line}\n`);
  }

  /**
   * The instance is terminated (its service is gone, its output read to the end): the file closed, the
   * agent SIGTERMed to ship what is left within `graceMs`, its container removed.
   */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (graceMs > 0) {
      // A SIGTERM before Node ran the agent's first line would end it with nothing shipped.
      await waitFor("the log agent to handle SIGTERM", () => existsSync(this.files.pidFile), {
        timeoutMs: 10_000,
        intervalMs: 20,
        abortIf: () => (this.ended ? "it exited" : undefined),
      }).catch(() => undefined);
      await this.container.stop({ t: Math.ceil(graceMs / 1000) }).catch(() => undefined);
    }
    await this.container.remove({ force: true }).catch(() => undefined);
  }
}
