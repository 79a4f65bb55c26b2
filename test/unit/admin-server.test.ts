import net from "node:net";
import { expect } from "chai";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { AdminTarget, EnvironmentStatus, startAdminServer } from "../../emulator/admin-server";
import { InstanceInfo } from "../../emulator/environment";

/** A CloudWatch Logs endpoint that accepts connections and never answers. */
const silentLogs = net.createServer(() => undefined);

/**
 * An environment with one live worker whose termination fails (the EC2 API is unreachable, say), and
 * whose CloudWatch Logs hangs.
 */
function fakeEnvironment(): AdminTarget & { killed: string[] } {
  const worker: InstanceInfo = {
    instanceId: "i-live",
    role: "worker",
    state: "running",
    pid: undefined,
    port: undefined,
    privateIp: "10.0.1.10",
    launchedAt: 0,
    startedAt: 0,
    paused: false,
    reason: undefined,
  };
  const gone: InstanceInfo = { ...worker, instanceId: "i-gone", state: "terminated" };
  const killed: string[] = [];
  return {
    killed,
    envId: "env-test",
    endpoint: "http://127.0.0.1:1",
    awsEndpoint: "http://127.0.0.1:2",
    redisUrl: "redis://:secret@127.0.0.1:3",
    runtime: { kind: "process" },
    resources: {
      eipAllocationId: "eipalloc-1",
      eipPublicIp: "198.51.100.1",
      logGroups: { controller: "/faas/controller", worker: "/faas/worker" },
    },
    clients: {
      logs: new CloudWatchLogsClient({
        endpoint: `http://127.0.0.1:${(silentLogs.address() as net.AddressInfo).port}`,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        maxAttempts: 1,
      }),
    },
    elasticIpHolder: undefined,
    reconciler: { list: () => [] },
    list: () => [worker, gone],
    kill: (id) => void killed.push(id),
    pause: () => undefined,
    resume: () => undefined,
    terminate: () => Promise.reject(new Error("TerminateInstances: connect ECONNREFUSED")),
  };
}

describe("the dev environment's admin server", () => {
  let admin: Awaited<ReturnType<typeof startAdminServer>>;
  let env: ReturnType<typeof fakeEnvironment>;
  const post = (path: string, token = admin.token) =>
    fetch(`${admin.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });

  before((done) => void silentLogs.listen(0, "127.0.0.1", done));
  after(() => {
    silentLogs.close();
  });
  beforeEach(async () => {
    env = fakeEnvironment();
    admin = await startAdminServer(env);
  });
  afterEach(async () => {
    await admin.close();
    env.clients.logs.destroy();
  });

  it("answers a failed termination with an error and keeps serving", async () => {
    const res = await post("/instances/i-live/terminate");
    expect(res.status).to.equal(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("ActionFailed");
    expect(body.error.message).to.include("ECONNREFUSED");
    const after = await post("/instances/i-live/kill");
    expect(after.status, "the server is still up").to.equal(200);
    expect(env.killed).to.deep.equal(["i-live"]);
  });

  it("404 for an unknown or terminated instance, whatever the verb", async () => {
    for (const path of ["/instances/i-none/terminate", "/instances/i-gone/kill", "/instances/i-gone/pause"]) {
      const res = await post(path);
      expect(res.status, path).to.equal(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).to.equal("NotFound");
    }
    expect(env.killed).to.deep.equal([]);
  });

  it("acts only for the holder of its token", async () => {
    const res = await post("/instances/i-live/kill", "wrong-token");
    expect(res.status).to.equal(401);
    expect(env.killed).to.deep.equal([]);
  });

  it("answers /status within its budget when CloudWatch Logs does not answer, saying so per group", async () => {
    const started = Date.now();
    const res = await fetch(`${admin.url}/status`, { headers: { authorization: `Bearer ${admin.token}` } });
    const took = Date.now() - started;
    expect(res.status).to.equal(200);
    const body = (await res.json()) as EnvironmentStatus;
    expect(body.instances.map((i) => i.instanceId)).to.deep.equal(["i-live", "i-gone"]);
    expect(body.logs?.map((g) => g.group)).to.deep.equal(["/faas/controller", "/faas/worker"]);
    for (const g of body.logs ?? []) {
      expect(g.unavailable, g.group).to.match(/no answer within 2000 ms/);
      expect(g.errorLines).to.equal(0);
    }
    expect(took, "the 2 s budget, not the SDK's own timeouts").to.be.below(4000);
  });
});
