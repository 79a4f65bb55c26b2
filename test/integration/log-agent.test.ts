/**
 * The emulated CloudWatch agent as the process backend runs it (emulator/log-agent/sidecar.ts: the
 * instance's log file, the agent process beside it) against moto's CloudWatch Logs: what SIGTERM
 * ships, what SIGKILL loses, offsets across a restart, an oversized line, and the figures the issue
 * asks for (shipping delay, lines lost at SIGKILL, CPU per 1 000 lines), printed.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { CloudWatchLogsClient, CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import { readEvents } from "../../emulator/cloudwatch/log-reader";
import { PUT_LIMITS, TRUNCATED_SUFFIX } from "../../emulator/log-agent/batcher";
import { LogSidecar } from "../../emulator/log-agent/sidecar";
import { notYet, waitFor } from "../../emulator/wait";
import { sharedServices } from "../fixtures/shared-services";

describe("log agent: shipping an instance's log file to CloudWatch Logs in moto", function () {
  this.timeout(120_000);
  let logs: CloudWatchLogsClient;
  let awsEndpoint: string;
  let dir: string;
  let group: string;
  const sidecars: LogSidecar[] = [];
  let n = 0;

  before(async () => {
    awsEndpoint = (await sharedServices()).awsEndpoint;
    logs = new CloudWatchLogsClient({
      endpoint: awsEndpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    group = `/agent-test-${Date.now()}/controller`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    dir = mkdtempSync(path.join(os.tmpdir(), "faas-agent-"));
  });
  after(async () => {
    await Promise.allSettled(sidecars.map((s) => s.stop(1000)));
    logs.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An instance's log file and agent, as the process backend makes them. */
  function instance(instanceId = `i-agent${++n}`, root = path.join(dir, instanceId)): LogSidecar {
    const sidecar = new LogSidecar({
      instanceId,
      role: "controller",
      instanceRoot: root,
      logGroup: group,
      awsEndpoint,
      labels: { FAAS_ENV_ID: "log-agent-test" },
      onAgentLine: (line) => {
        if (process.env.FAAS_TEST_LOGS === "1") process.stderr.write(`agent ${instanceId} | ${line}\n`);
      },
    });
    sidecars.push(sidecar);
    sidecar.start();
    return sidecar;
  }
  const stream = async (instanceId: string) =>
    (await readEvents(logs, { group, streams: [instanceId] }).catch(() => [])).map((e) => e.message);

  it("SIGTERM (the instance shut down) ships at once what it has read and the rest of the file, a last line without its newline included", async () => {
    const s = instance("i-term");
    for (let i = 0; i < 50; i++) s.append(`line ${i}`);
    appendFileSync(s.files.logFile, "no newline at the end");
    const started = Date.now();
    await s.stop();
    const tookMs = Date.now() - started;
    const shipped = await stream("i-term");
    expect(shipped).to.deep.equal([
      ...Array.from({ length: 50 }, (_, i) => `line ${i}`),
      "no newline at the end",
    ]);
    expect(tookMs, "well before the 5 s flush: the stop flushed").to.be.below(4000);
  });

  it("remembers its offset: an agent started again on the same instance ships only the new lines", async () => {
    const root = path.join(dir, "i-again");
    const first = instance("i-again", root);
    first.append("before restart");
    await first.stop();
    const second = instance("i-again", root);
    second.append("after restart");
    await second.stop();
    expect(await stream("i-again")).to.deep.equal(["before restart", "after restart"]);
  });

  it("a line over CloudWatch's 256 KiB event limit arrives truncated, the lines around it whole", async () => {
    const s = instance("i-huge");
    s.append("before");
    s.append("z".repeat(400 * 1024));
    s.append("after");
    await s.stop();
    const shipped = await stream("i-huge");
    expect(shipped).to.have.length(3);
    expect(shipped[0]).to.equal("before");
    expect(shipped[1]?.endsWith(TRUNCATED_SUFFIX)).to.equal(true);
    expect(Buffer.byteLength(shipped[1] ?? "")).to.equal(
      PUT_LIMITS.maxEventBytes - PUT_LIMITS.eventOverheadBytes,
    );
    expect(shipped[2]).to.equal("after");
  });

  it("figures: shipping delay (written → readable) while running; lines lost when the agent is SIGKILLed", async () => {
    const s = instance("i-kill");
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const line = `probe ${i}`;
      const written = Date.now();
      s.append(line);
      await waitFor(`${line} readable`, async () => (await stream("i-kill")).includes(line), {
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      delays.push(Date.now() - written);
      await new Promise((resolve) => setTimeout(resolve, 300 + 400 * i));
    }
    // The agent ships a batch 5 s after its first line: a line that opens a batch waits the longest.
    expect(Math.max(...delays)).to.be.below(5000 + 2500);
    // Then a steady 100 lines/s, and the agent killed outright (the instance lost, not shut down).
    const probes = (await stream("i-kill")).length;
    let written = 0;
    const writer = setInterval(() => s.append(`steady ${written++}`), 10);
    await new Promise((resolve) => setTimeout(resolve, 8000));
    clearInterval(writer);
    process.kill(s.agentPid ?? 0, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const shipped = (await stream("i-kill")).slice(probes);
    const lost = written - shipped.length;
    expect(shipped, "what was shipped is the file's beginning, without gaps").to.deep.equal(
      Array.from({ length: shipped.length }, (_, i) => `steady ${i}`),
    );
    // At most one flush interval of lines plus one poll (5.2 s at 100 lines/s), with timer slack.
    expect(lost).to.be.at.most(560);
    process.stderr.write(
      `      shipping delay written → readable: ${delays.map((d) => `${d}`).join(", ")} ms (max ${Math.max(...delays)})\n` +
        `      SIGKILL of the agent at 100 lines/s: ${lost} of ${written} lines lost (${(lost / 100).toFixed(1)} s' worth)\n`,
    );
  });

  it("figure: the agent's CPU per 1 000 lines shipped (/proc/<pid>/stat)", async function () {
    if (process.platform !== "linux") this.skip();
    const s = instance("i-cpu");
    const pid = s.agentPid ?? 0;
    await waitFor("the agent to be up", () => cpuTicks(pid) > 0 || notYet("no /proc entry"), {
      timeoutMs: 5000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const idleStart = cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idlePerMs = (cpuTicks(pid) - idleStart) / 2000;
    const lines = 50_000;
    const line = `{"level":30,"time":"${new Date().toISOString()}","component":"controller","msg":"a line of about the usual size, with some fields","n":`;
    const before = cpuTicks(pid);
    const started = Date.now();
    for (let i = 0; i < lines; i++) s.append(`${line}${i}}`);
    await waitFor(
      "every line shipped",
      async () => {
        const count = (await readEvents(logs, { group, streams: ["i-cpu"] })).length;
        return count >= lines || notYet(`${count}`);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const elapsedMs = Date.now() - started;
    const ticks = cpuTicks(pid) - before - idlePerMs * elapsedMs;
    const msPer1000 = ((ticks * 1000) / CLOCK_TICKS / lines) * 1000;
    process.stderr.write(
      `      agent CPU: ${msPer1000.toFixed(1)} ms per 1 000 lines (${lines} lines of ~${line.length + 6} bytes, idle ${(idlePerMs * 1000 * 10).toFixed(1)} ms/s subtracted)\n`,
    );
    expect(msPer1000).to.be.below(200);
  });
});

/** Linux reports CPU time in clock ticks of 1/100 s on every architecture Node runs on. */
const CLOCK_TICKS = 100;

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
