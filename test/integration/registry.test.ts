import { expect } from "chai";
import { DescribeAddressesCommand } from "@aws-sdk/client-ec2";
import { startTestEnvironment, TestEnvironment, waitFor } from "../fixtures/environment";

describe("worker registry and the Elastic IP", function () {
  this.timeout(60_000);
  let t: TestEnvironment;

  before(async () => {
    t = await startTestEnvironment({ workers: 2 });
  });
  after(async () => {
    await t.env.stop();
  });

  const controller = () => t.env.live("controller")[0];

  it("the controller claimed the Elastic IP on boot and the edge routes to it", async () => {
    const out = await t.env.clients.ec2.send(
      new DescribeAddressesCommand({ AllocationIds: [t.env.resources.eipAllocationId] }),
    );
    expect(out.Addresses?.[0]?.InstanceId).to.equal(controller()?.instanceId);
    const health = (await (await fetch(`${t.env.endpoint}/healthz`)).json()) as { instanceId: string };
    expect(health.instanceId).to.equal(controller()?.instanceId);
  });

  it("lists each worker with its instance, heartbeat age and slots", async () => {
    const list = await t.api.workers();
    expect(list.workers).to.have.length(2);
    const instances = t.env
      .list()
      .filter((i) => i.role === "worker")
      .map((i) => i.instanceId);
    for (const w of list.workers) {
      expect(instances).to.include(w.instanceId);
      expect(w).to.include.keys("secondsSinceHeartbeat", "slotsTotal", "slotsInUse", "status");
    }
  });

  it("drops a worker that stops heartbeating after the dead timeout, and takes it back when it resumes", async () => {
    const worker = t.env.live("worker")[0]!;
    t.env.pause(worker.instanceId);
    try {
      const stoppedAt = Date.now();
      await waitFor(async () => (await t.api.workers()).workers.length === 1, 5000, "worker dropped");
      const droppedAfter = Date.now() - stoppedAt;
      expect(droppedAfter, "not before the dead timeout (1.5 s)").to.be.greaterThan(1200);
      expect((await t.api.workers()).workers.map((w) => w.instanceId)).not.to.include(worker.instanceId);
      expect(
        t.env.live("worker").map((w) => w.instanceId),
        "a paused worker is not replaced",
      ).to.include(worker.instanceId);
    } finally {
      t.env.resume(worker.instanceId);
    }
    await waitFor(async () => (await t.api.workers()).workers.length === 2, 3000, "worker back");
  });

  it("a killed controller is replaced by a new instance that claims the Elastic IP; workers re-register", async () => {
    const old = controller()!;
    t.env.kill(old.instanceId);
    await waitFor(
      async () => (await fetch(`${t.env.endpoint}/healthz`)).status === 503,
      2000,
      "edge answers 503",
    );
    const gap = await fetch(`${t.env.endpoint}/healthz`);
    expect(((await gap.json()) as { error: { code: string } }).error.code).to.equal("ServiceUnavailable");

    let fresh = "";
    await waitFor(
      async () => {
        const res = await fetch(`${t.env.endpoint}/healthz`);
        fresh = res.ok ? ((await res.json()) as { instanceId: string }).instanceId : "";
        return fresh !== "" && fresh !== old.instanceId;
      },
      15_000,
      "new controller serves at the Elastic IP",
    );
    expect(t.env.list().find((i) => i.instanceId === old.instanceId)?.state).to.equal("terminated");
    const first = await t.api.workers();
    expect(first.controllerInstanceId).to.equal(fresh);
    await waitFor(
      async () => (await t.api.workers()).workers.length === 2,
      2000,
      "workers re-registered within an interval",
    );
    const activities = t.env.reconciler.list().map((a) => a.description);
    expect(activities).to.include(`Terminating EC2 instance: ${old.instanceId}`);
    expect(activities).to.include(`Launching a new EC2 instance: ${fresh}`);
  });
});
