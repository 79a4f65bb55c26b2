/**
 * The hot standby (issue 11, docs/failover.md): the controller lease on a real Redis, and a local cloud
 * whose controller group is 2/2 — the active one serves at the Elastic IP, the standby takes the address
 * when the active dies, pauses or stops.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import pino from "pino";
import { DescribeAddressesCommand } from "@aws-sdk/client-ec2";
import { Health } from "../../contracts";
import { GROUP } from "../../emulator/environment";
import { environmentStatus } from "../../emulator/admin-server";
import { renderStatus } from "../../emulator/status-table";
import { notYet, waitFor } from "../../emulator/wait";
import { ACTIVE_KEY, ActiveLease, EPOCH_KEY } from "../../services/controller/active-lease";
import { ControllerRole } from "../../services/controller/controller-role";
import { PlatformClient } from "../../client/platform-client";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";
import { sharedServices } from "../fixtures/shared-services";

const quiet = pino({ level: "silent" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the controller lease on a real Redis", function () {
  this.timeout(20_000);
  let redis: Redis;

  before(async () => {
    redis = new Redis((await sharedServices()).redisUrl());
    await redis.del(ACTIVE_KEY, EPOCH_KEY);
  });
  after(async () => {
    await redis.del(ACTIVE_KEY, EPOCH_KEY);
    redis.disconnect();
  });

  it("goes to the first to ask, is renewed by its holder, and passes on with a new epoch once it expires", async () => {
    const a = new ActiveLease(redis, "i-a", 300);
    const b = new ActiveLease(redis, "i-b", 300);
    const first = await a.tick();
    expect(first).to.deep.include({ held: true, taken: true, holder: "i-a" });
    expect(await b.tick()).to.deep.include({ held: false, taken: false, holder: "i-a", epoch: first.epoch });
    // Renewed faster than it expires, it stays with its holder.
    for (let i = 0; i < 4; i++) {
      await sleep(100);
      expect(await a.tick()).to.deep.include({ held: true, taken: false, epoch: first.epoch });
    }
    await sleep(400);
    const second = await b.tick();
    expect(second).to.deep.include({ held: true, taken: true, holder: "i-b", epoch: first.epoch + 1 });
    expect(await a.tick(), "the old holder finds it gone").to.deep.include({ held: false, holder: "i-b" });
  });

  it("is released only by its holder, and then taken at the next ask", async () => {
    await redis.del(ACTIVE_KEY);
    const a = new ActiveLease(redis, "i-a", 10_000);
    const b = new ActiveLease(redis, "i-b", 10_000);
    const held = await a.tick();
    expect(await b.release(), "not b's to give").to.equal(false);
    expect(await a.release()).to.equal(true);
    expect(await b.tick()).to.deep.include({ held: true, taken: true, epoch: held.epoch + 1 });
  });

  it("refuses a holder name that would break its format", () => {
    expect(() => new ActiveLease(redis, "i-a|2", 1000)).to.throw(/cannot contain/);
  });

  it("a role: the standby claims when it takes the lease, steps down when another holds it, keeps its role while Redis is down", async () => {
    await redis.del(ACTIVE_KEY);
    const claims: string[] = [];
    const aborted: string[] = [];
    const role = (name: string, client: Redis) =>
      new ControllerRole({
        lease: new ActiveLease(client, name, 300),
        renewMs: 50,
        claim: (signal) => {
          claims.push(name);
          signal.addEventListener("abort", () => aborted.push(name));
          return new Promise(() => undefined); // a claim still retrying
        },
        holdsAddress: () => Promise.resolve(true),
        verifyEveryMs: 60_000,
        log: quiet,
      });
    const other = redis.duplicate();
    try {
      const a = role("i-a", redis);
      const b = role("i-b", other);
      await a.tick();
      await b.tick();
      expect([a.role, b.role]).to.deep.equal(["active", "standby"]);
      expect(claims).to.deep.equal(["i-a"]);
      // a stops renewing (paused): b takes over once the lease expires.
      await sleep(350);
      await b.tick();
      expect(b.role).to.equal("active");
      expect(claims).to.deep.equal(["i-a", "i-b"]);
      await a.tick();
      expect(a.role, "resumed, a finds b holding the lease").to.equal("standby");
      expect(aborted, "a's claim in progress was abandoned").to.deep.equal(["i-a"]);
      // Redis gone for b: no handover, b stays active.
      other.disconnect();
      await b.tick();
      expect(b.role).to.equal("active");
    } finally {
      other.disconnect();
      await redis.del(ACTIVE_KEY);
    }
  });
});

describe("a local cloud with a hot standby controller", function () {
  this.timeout(120_000);
  let t: TestEnvironment;
  let client: PlatformClient;

  before(async () => {
    t = await startTestEnvironment({ standby: true, workers: 1 });
    // No retries: these tests look at what the address answers at each moment.
    client = new PlatformClient(t.env.endpoint, t.apiKey, { retry: false });
    await client.deploy("echo", { source: `exports.handler = async (e) => ({ n: e.n });` });
  });
  after(async () => {
    await t.env.stop();
  });

  const controllers = () => t.env.live("controller").filter((i) => i.state === "running");
  const health = async (port: number | undefined): Promise<Health> =>
    Health.parse(await (await fetch(`http://127.0.0.1:${port ?? 0}/healthz`)).json());
  const holder = async () =>
    (
      await t.env.clients.ec2.send(
        new DescribeAddressesCommand({ AllocationIds: [t.env.resources.eipAllocationId] }),
      )
    ).Addresses?.[0]?.InstanceId;
  /** Both controllers running, one of them serving at the Elastic IP and the other standing by. */
  const pair = async () =>
    waitFor(
      "an active controller and a standby",
      async () => {
        const running = controllers();
        if (running.length !== 2) return notYet(`${running.length} controllers running`);
        const states = await Promise.all(running.map((c) => health(c.port).catch(() => undefined)));
        const active = running.find((_, i) => states[i]?.serving === "serving");
        const standby = running.find((_, i) => states[i]?.serving === "standby");
        const at = await holder();
        if (active === undefined || standby === undefined || at !== active.instanceId)
          return notYet(
            `serving: ${states.map((s) => s?.serving ?? "?").join(", ")}; address at ${at ?? "none"}`,
          );
        return { active, standby };
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  it("runs the controller group at 2/2: the active serves at the Elastic IP, the standby answers 503 with Retry-After", async () => {
    expect(t.env.reconciler.group(GROUP.controller)?.desired).to.equal(2);
    const { active, standby } = await pair();
    expect((await client.health()).instanceId).to.equal(active.instanceId);
    const refused = await fetch(`http://127.0.0.1:${standby.port ?? 0}/api/functions`, {
      headers: { authorization: `Bearer ${t.apiKey}` },
    });
    expect(refused.status).to.equal(503);
    expect(refused.headers.get("retry-after")).to.equal("1");
    expect(((await refused.json()) as { error: { message: string } }).error.message).to.match(/standby/);
    const table = renderStatus(environmentStatus(t.env), undefined);
    expect(table).to.match(new RegExp(`controller \\(active\\)\\s+${active.instanceId}`));
    expect(table).to.match(new RegExp(`controller \\(standby\\)\\s+${standby.instanceId}`));
  });

  it("when the active is killed, a standby serves at the address within seconds and the group restores a pair", async () => {
    const { active } = await pair();
    const killedAt = Date.now();
    t.env.kill(active.instanceId);
    // The standby, or the group's replacement if it boots first: whichever asks for the lease first
    // once the dead one's term has run out.
    let successor = "";
    await waitFor(
      "another controller serving at the Elastic IP",
      async () => {
        const h = await client.health().catch(() => undefined);
        successor = h?.instanceId ?? "";
        return (
          (successor !== "" && successor !== active.instanceId) ||
          notYet(`edge answers ${h?.instanceId ?? "an error"} (killed ${active.instanceId})`)
        );
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const tookMs = Date.now() - killedAt;
    // Lease 2 s + one renewal + AssociateAddress + the edge's next read: about 3 s.
    expect(tookMs).to.be.below(6000);
    const out = await client.invoke("echo", { n: 7 });
    expect(out.body).to.deep.equal({ n: 7 });
    const again = await pair();
    expect(again.active.instanceId).to.equal(successor);
    expect([again.active.instanceId, again.standby.instanceId]).to.not.include(active.instanceId);
  });

  it("when the active is paused, the standby takes over; resumed, the old active steps down to standby", async () => {
    const { active, standby } = await pair();
    t.env.pause(active.instanceId);
    try {
      await waitFor(
        "the standby holding the Elastic IP",
        async () => (await holder()) === standby.instanceId || notYet("not yet"),
        { timeoutMs: 10_000, intervalMs: 50 },
      );
    } finally {
      t.env.resume(active.instanceId);
    }
    await waitFor(
      "the resumed controller standing by",
      async () => {
        const h = await health(active.port).catch(() => undefined);
        return h?.serving === "standby" || notYet(`it says ${h?.serving ?? "nothing"}`);
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    // The edge reads the association every 200 ms.
    await waitFor(
      "the edge routing to the new active",
      async () => (await client.health()).instanceId === standby.instanceId || notYet("the old one answers"),
      { timeoutMs: 2000, intervalMs: 50 },
    );
    expect((await client.invoke("echo", { n: 8 })).body).to.deep.equal({ n: 8 });
    const logs = t.logs.filter(
      (l) => l.includes(active.instanceId) && l.includes("stepping down to standby"),
    );
    expect(logs, "the old active said why it stopped serving").to.have.length.greaterThan(0);
  });

  it("a planned stop (terminate: SIGTERM) hands the address to the standby; a caller that retries sees no error", async () => {
    const { active, standby } = await pair();
    const retrying = new PlatformClient(t.env.endpoint, t.apiKey);
    let retries = 0;
    let rawErrors = 0;
    let calls = 0;
    const stop = new AbortController();
    const load = (async () => {
      while (!stop.signal.aborted) {
        calls++;
        const out = await retrying.invoke("echo", { n: calls }, { onRetry: () => (retries += 1) });
        expect(out.body).to.deep.equal({ n: calls });
        await client.health().catch(() => (rawErrors += 1));
      }
    })();
    await sleep(300);
    await t.env.terminate(active.instanceId);
    await waitFor(
      "the edge routing to the new active",
      async () => (await client.health()).instanceId === standby.instanceId || notYet("not yet"),
      { timeoutMs: 3000, intervalMs: 50 },
    );
    stop.abort();
    await load;
    const lines = t.logs.filter((l) => l.includes(active.instanceId));
    expect(lines.some((l) => l.includes("handed the controller lease over"))).to.equal(true);
    expect(calls).to.be.greaterThan(5);
    // What a caller without retries would have seen, for the record (docs/failover.md).
    process.stdout.write(
      `      planned stop: ${calls} calls, ${retries} retried, ${rawErrors} raw health-check errors\n`,
    );
  });
});
