/**
 * Logs that outlive their instance (issue 13): each instance's agent ships its service's lines to the
 * role's log group in moto, under its instance id; a killed controller's lines are there after its
 * replacement serves; `faas logs` (bin/faas, as a user runs it) reads both streams back in order, and
 * `--errors` shows what the group's metric filter counts.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { readEvents } from "../../emulator/cloudwatch/log-reader";
import { notYet, waitFor } from "../../emulator/wait";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

const root = path.resolve(__dirname, "../../..");
const faas = path.join(root, "bin", "faas");

describe("logs: the agent beside each instance, and `faas logs`", function () {
  this.timeout(120_000);
  let t: TestEnvironment;
  let home: string;
  let prefix: string;

  before(async () => {
    home = mkdtempSync(path.join(os.tmpdir(), "faas-home-"));
    t = await startTestEnvironment({ workers: 1 });
    prefix = t.env.resources.bucket.replace(/-code$/, "");
  });
  after(async () => {
    await t.env.stop();
    rmSync(home, { recursive: true, force: true });
  });

  const controllerGroup = () => `/${prefix}/controller`;
  const serviceLines = (instanceId: string) =>
    t.logs
      .filter((l) => l.startsWith(`controller ${instanceId} | `))
      .map((l) => l.slice(`controller ${instanceId} | `.length));
  const streamOf = async (instanceId: string) =>
    (await readEvents(t.env.clients.logs, { group: controllerGroup(), streams: [instanceId] })).map(
      (e) => e.message,
    );
  const runFaas = (...args: string[]) =>
    spawnSync(process.execPath, [faas, ...args, "--endpoint", t.env.awsEndpoint, "--prefix", prefix], {
      env: { ...process.env, FAAS_HOME: home },
      encoding: "utf8",
      timeout: 30_000,
    });

  it("a killed controller's last lines are read back under its instance id once the replacement serves; `faas logs controller --since 1m` merges both streams in order", async () => {
    const old = t.env.live("controller")[0]!.instanceId;
    // Its boot lines are on their way to the file; the kill comes after them.
    await waitFor(
      "the controller's listening line",
      () => serviceLines(old).some((l) => l.includes("listening")),
      {
        timeoutMs: 10_000,
      },
    );
    const beforeKill = serviceLines(old);
    const killedAt = Date.now();
    t.env.kill(old);

    const replacement = await waitFor(
      "a replacement controller to serve through the Elastic IP",
      async () => {
        const health = (await (await fetch(`${t.env.endpoint}/healthz`)).json()) as { instanceId?: string };
        return health.instanceId !== undefined && health.instanceId !== old
          ? health.instanceId
          : notYet(String(health.instanceId));
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // The killed instance's agent ships on the instance's termination, which the group does on replacing it.
    const shipped = await waitFor(
      `the killed controller's stream ${old}`,
      async () => {
        const messages = await streamOf(old);
        return messages.length >= beforeKill.length
          ? messages
          : notYet(`${messages.length} of ${beforeKill.length} lines`);
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    process.stderr.write(
      `      killed controller's ${shipped.length} lines readable ${Date.now() - killedAt} ms after the kill\n`,
    );
    // Every line it wrote before the kill, in order, from its first; nothing that is not its own. (The
    // emulator's log also has the fleet's note of the exit under the instance's name: not the service's.)
    expect(shipped.slice(0, beforeKill.length)).to.deep.equal(beforeKill);
    const own = serviceLines(old).filter((l) => !l.startsWith("instance unhealthy: "));
    expect(shipped, "all its lines, the last ones included").to.deep.equal(own);

    await waitFor("the replacement's stream", async () => (await streamOf(replacement)).length > 0, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    const run = runFaas("logs", "controller", "--since", "1m");
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trimEnd().split("\n").map(parseLine);
    const streams = lines.map((l) => l.stream);
    expect(new Set(streams)).to.include(old).and.to.include(replacement);
    const times = lines.map((l) => l.time);
    expect(times, "merged in time order").to.deep.equal([...times].sort((a, b) => a - b));
    expect(
      streams.lastIndexOf(old),
      "the killed controller's lines come before its replacement's",
    ).to.be.lessThan(streams.indexOf(replacement));
    expect(lines.filter((l) => l.stream === old).map((l) => l.message)).to.deep.equal(shipped);
  });

  it("`faas logs controller --errors` shows the lines the metric filter counts: level 50, not 30, nor a line that is not JSON", async () => {
    const stream = `i-errors${Date.now()}`;
    const logs = t.env.clients.logs;
    await logs.send(new CreateLogStreamCommand({ logGroupName: controllerGroup(), logStreamName: stream }));
    const now = Date.now();
    const lines = [
      `{"level":30,"time":"${new Date(now).toISOString()}","msg":"fine, Error in the text"}`,
      `{"level":50,"time":"${new Date(now).toISOString()}","msg":"broken"}`,
      `not JSON, level 50`,
      `{"level":60,"time":"${new Date(now).toISOString()}","msg":"fatal"}`,
    ];
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: controllerGroup(),
        logStreamName: stream,
        logEvents: lines.map((message, k) => ({ timestamp: now + k, message })),
      }),
    );
    const run = runFaas("logs", "controller", "--since", "1m", "--errors", "--instance", stream);
    expect(run.status, run.stderr).to.equal(0);
    expect(
      run.stdout
        .trimEnd()
        .split("\n")
        .map((l) => parseLine(l).message),
    ).to.deep.equal([lines[1], lines[3]]);
    expect(run.stderr).to.match(
      /^2 line\(s\) counted by .*-controller-errors \(\{ \$\.level >= 50 \} → FaaS\/ControllerErrorLines\)/,
    );
  });

  it("`faas fn logs NAME` lists the function's invocations (from the workers' group) with what each printed", async () => {
    const name = `printer${Date.now()}`;
    const deployed = await t.api.deploy(
      name,
      `exports.handler = async (event) => { console.log("printed", event.n); return event.n; };`,
    );
    expect(deployed.status).to.be.oneOf([200, 201]);
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const answer = await t.api.invoke(name, { n });
      expect(answer.status, answer.text).to.equal(200);
      ids.push(answer.headers.get("x-invocation-id") ?? "");
    }
    await waitFor(
      "both invocations' finished lines shipped",
      async () => {
        const events = await readEvents(t.env.clients.logs, { group: `/${prefix}/worker` });
        return (
          ids.every((id) => events.some((e) => e.message.includes(id))) || notYet(`${events.length} events`)
        );
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    // Not spawnSync: the process backend's Elastic IP edge runs in this process and must keep serving.
    const run = await runAsync(
      [faas, "fn", "logs", name, "--endpoint", t.env.awsEndpoint, "--prefix", prefix],
      {
        ...process.env,
        FAAS_HOME: home,
        FAAS_ENDPOINT: t.env.endpoint,
        FAAS_API_KEY: t.apiKey,
      },
    );
    expect(run.status, run.stdout + run.stderr).to.equal(0);
    const headers = run.stdout.split("\n").filter((l) => l.startsWith("── "));
    expect(headers.map((h) => h.split(" ")[2])).to.deep.equal(ids);
    expect(run.stdout).to.match(/printed 1\n[\s\S]*printed 2\n/);
  });

  it("`faas logs worker --grep` keeps the lines containing the text", async () => {
    const worker = t.env.live("worker")[0]!.instanceId;
    await waitFor(
      "the worker's stream",
      async () =>
        (await readEvents(t.env.clients.logs, { group: `/${prefix}/worker`, streams: [worker] })).length > 0,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const run = runFaas("logs", "worker", "--since", "5m", "--grep", "worker booting");
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trimEnd().split("\n").map(parseLine);
    expect(lines.length).to.be.at.least(1);
    for (const l of lines) expect(l.message).to.include("worker booting");
  });
});

function parseLine(line: string): { time: number; stream: string; message: string } {
  const m = /^(\S+) (\S+) (.*)$/.exec(line);
  if (m === null) throw new Error(`not a faas logs line: ${line}`);
  return { time: Date.parse(m[1] ?? ""), stream: m[2] ?? "", message: m[3] ?? "" };
}

function runAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGTERM"), 30_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
