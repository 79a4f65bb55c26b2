/**
 * The Environment on the Docker runtime: the same surface `faas dev`, the chaos harness and the tests
 * use, with compose-managed infrastructure and instances as containers. It deploys and invokes through
 * the edge on 127.0.0.1, restarts Redis without losing a stored result, refuses invocations while the
 * SQS endpoint is cut, leaves nothing behind, and passes the controller-kill chaos scenario.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { AsyncAccepted, HEADER } from "../../contracts";
import { readEvents } from "../../emulator/cloudwatch/log-reader";
import Docker from "dockerode";
import { runChaos } from "../../emulator/chaos/run-chaos";
import { Environment } from "../../emulator/environment";
import { freePort } from "../../emulator/ports";
import { FAST_TIMING } from "../../emulator/reconciler";
import { notYet, RETRY_BACKOFF, waitFor } from "../../emulator/wait";
import { Api } from "../fixtures/environment";
import { dockerOrSkipReason } from "./fixtures";

describe("docker: the Environment on the Docker runtime", function () {
  const docker = new Docker();
  const logs: string[] = [];
  let env: Environment | undefined;

  before(async function () {
    const reason = await dockerOrSkipReason();
    if (reason !== undefined) {
      process.stderr.write(`      skipped: ${reason}\n`);
      this.skip();
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") process.stderr.write(`${logs.slice(-40).join("\n")}\n`);
  });

  after(async function () {
    await env?.stop();
  });

  async function leftBehind(envId: string): Promise<string[]> {
    const filters = JSON.stringify({ label: [`faas.env=${envId}`] });
    const containers = await docker.listContainers({ all: true, filters });
    const networks = await docker.listNetworks({ filters });
    return [...containers.map((c) => c.Names.join(",")), ...networks.map((n) => n.Name)];
  }

  it("starts, deploys and invokes through the edge, and leaves nothing behind", async function () {
    const startedAt = Date.now();
    const apiKey = `test-key-${Date.now().toString(36)}-docker`;
    env = await Environment.start({
      backend: { kind: "docker" },
      edgePort: await freePort(),
      workers: 2,
      apiKey,
      workerSecret: `test-secret-${Date.now().toString(36)}-docker`,
      heartbeatIntervalMs: 500,
      workerDeadAfterMs: 3000,
      visibilityTimeoutS: 5,
      workerEnv: { FAAS_POLL_WAIT_S: "1" },
      onLog: (source, line) => logs.push(`${source} | ${line}`),
    });
    const t = env;
    expect(t.runtime.kind).to.equal("docker");
    const api = new Api(t.endpoint, apiKey);
    await waitFor("two workers registered", async () => (await api.workers()).workers.length >= 2, {
      timeoutMs: 90_000,
      backoff: RETRY_BACKOFF,
    });
    await api.client.deploy("hello", { source: "exports.handler = async (e) => ({ hello: e.name })" });
    const answer = await api.invoke("hello", { name: "docker" });
    expect(answer.status, answer.text).to.equal(200);
    expect(answer.body).to.deep.equal({ hello: "docker" });
    process.stderr.write(
      `      Environment.start (docker) to first invocation: ${Date.now() - startedAt} ms\n`,
    );

    const controller = t.live("controller")[0];
    expect(controller?.instanceId).to.match(/^i-/);
    await waitFor("the edge sees the holder", () => t.elasticIpHolder === controller?.instanceId, {
      timeoutMs: 10_000,
    });

    // Redis restarts with its append-only file: a result stored before is still there.
    const async = await api.invokeAsync("hello", { name: "kept" });
    expect(async.status, async.text).to.equal(202);
    const id = AsyncAccepted.parse(async.body).invocationId;
    await api.awaitInvocation(id, 20_000);
    const redis = t.redis;
    if (redis === undefined)
      throw new Error("the Docker runtime's Redis is not restartable: nothing to test");
    await redis.restart(500);
    await waitFor("the controller reads Redis again", async () => (await api.invocation(id)).status === 200, {
      timeoutMs: 20_000,
    });
    expect((await api.client.getInvocation(id)).result).to.deep.equal({ hello: "kept" });

    // The SQS endpoint cut: asynchronous invocations are refused with 503, and work again after.
    await t.queueEndpoint.setCut(true);
    const refused = await api.invokeAsync("hello", { name: "cut" });
    await t.queueEndpoint.setCut(false);
    expect(refused.status, refused.text).to.equal(503);
    await waitFor(
      "invocations accepted after the cut",
      async () => (await api.invokeAsync("hello", { name: "after" })).status === 202,
      { timeoutMs: 20_000 },
    );

    // The log agent's container beside the controller: `docker kill` its service, the group terminates
    // the instance, and everything the service printed is in its stream of the controller group. (A
    // worker that has run a function is not the victim: `docker kill` of a worker container whose
    // function sandboxes are frozen fails on this Docker — "did not receive an exit event".)
    const victim = t.live("controller")[0]!.instanceId;
    const agents = await docker.listContainers({
      filters: JSON.stringify({ label: [`faas.env=${t.envId}`, "faas.part=agent"] }),
    });
    expect(
      agents.map((c) => c.Labels["faas.instance"]),
      "an agent container per instance",
    ).to.include.members([...t.live("worker"), ...t.live("controller")].map((w) => w.instanceId));
    const [service] = await docker.listContainers({
      filters: JSON.stringify({ label: [`faas.instance=${victim}`, "faas.part=service"] }),
    });
    await docker.getContainer(service!.Id).kill();
    const killedAt = Date.now();
    await waitFor(
      `${victim} terminated by its group`,
      () => t.list().some((i) => i.instanceId === victim && i.state === "terminated"),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const printed = logs
      .filter((l) => l.startsWith(`controller ${victim} | `))
      .map((l) => l.slice(`controller ${victim} | `.length))
      .filter((l) => !l.startsWith("instance unhealthy: "));
    expect(printed.length, "the controller printed its lines").to.be.greaterThan(0);
    const group = t.resources.logGroups.controller;
    const shipped = await waitFor(
      `${victim}'s lines in ${group}`,
      async () => {
        const messages = (await readEvents(t.clients.logs, { group, streams: [victim] })).map(
          (e) => e.message,
        );
        return messages.length >= printed.length
          ? messages
          : notYet(`${messages.length} of ${printed.length}`);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    process.stderr.write(
      `      killed controller's ${shipped.length} lines readable ${Date.now() - killedAt} ms after docker kill
`,
    );
    expect(shipped, "every line it printed, its last ones included, in order").to.deep.equal(printed);
    await waitFor(
      "its agent's container removed with the instance",
      async () =>
        (
          await docker.listContainers({
            all: true,
            filters: JSON.stringify({ label: [`faas.instance=${victim}`] }),
          })
        ).length === 0,
      { timeoutMs: 20_000, intervalMs: 250 },
    );

    // A worker that has run a function (its sandbox frozen between invocations) dies whole when killed:
    // the emulator thaws the sandboxes first, since a frozen process takes no SIGKILL on cgroup v1.
    const ranHello = (answer.headers.get(HEADER.workerId) ?? "").split("-").slice(0, 2).join("-");
    expect(t.live("worker").map((w) => w.instanceId)).to.include(ranHello);
    t.kill(ranHello);
    await waitFor(
      `${ranHello}, killed with a frozen sandbox, terminated by its group`,
      () => t.list().some((i) => i.instanceId === ranHello && i.state === "terminated"),
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    const envId = t.envId;
    await t.stop();
    env = undefined;
    expect(await leftBehind(envId), "containers and networks left behind").to.deep.equal([]);
    expect(existsSync(path.join(os.tmpdir(), `faas-instances-${envId}`)), "the instances' folders").to.equal(
      false,
    );
  });

  it("passes the controller-kill chaos scenario on Docker", async function () {
    const run = await runChaos({
      runtime: "docker",
      scenarios: ["controller-kill"],
      scaling: FAST_TIMING,
      settings: {
        heartbeatIntervalMs: 1000,
        deadAfterMs: 4000,
        visibilityTimeoutS: 5,
        queueCutMs: 3000,
        redisDownMs: 2000,
        patienceMs: 60_000,
      },
      log: (line) => logs.push(`chaos | ${line}`),
      onComponentLog: (source, line) => logs.push(`${source} | ${line}`),
    });
    expect(
      run.results.map((r) => r.name),
      "the scenario ran, and only it",
    ).to.deep.equal(["controller-kill"]);
    const [result] = run.results;
    if (result === undefined) throw new Error("no scenario result");
    process.stderr.write(
      `      controller recovery on Docker: detected ${result.marks.detected ?? "-"} ms, Elastic IP serves ${result.marks.eipServes ?? "-"} ms, workers re-registered ${result.marks.reRegistered ?? "-"} ms, steady ${result.marks.steady ?? "-"} ms after the kill\n`,
    );
    expect(run.passed, run.table).to.equal(true);
    expect(result.marks.eipServes, "the Elastic IP served again after the kill").to.be.a("number");
    expect(result.invocations.accepted, "the scenario sent invocations").to.be.greaterThan(0);
    expect(result.invocations.lost).to.equal(0);
    // The killed controller's last lines, read back from its stream by the chaos report.
    const victim = result.logs?.victim;
    expect(result.logs?.unreadable).to.equal(undefined);
    expect(victim?.instanceId).to.equal(result.victim?.instanceId);
    expect(victim?.lastLines.length, "the killed controller's last lines").to.be.at.least(1);
    expect(new Set(victim?.lastLines.map((l) => l.stream))).to.deep.equal(new Set([victim?.instanceId]));
  });
});
