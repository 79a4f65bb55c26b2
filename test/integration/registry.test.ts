import { expect } from "chai";
import { DescribeAddressesCommand } from "@aws-sdk/client-ec2";
import { GROUP } from "../../emulator/environment";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";
import { waitFor } from "../../emulator/wait";

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
    // The dead timeout runs from the last heartbeat the controller received, which may be some time
    // before the pause (a loaded machine delays heartbeats): measure from there.
    const seen = (await t.api.workers()).workers.find((w) => w.instanceId === worker.instanceId);
    const sinceHeartbeatMs =
      ((seen as { secondsSinceHeartbeat?: number } | undefined)?.secondsSinceHeartbeat ?? 0) * 1000;
    const lastHeartbeatAt = Date.now() - sinceHeartbeatMs;
    t.env.pause(worker.instanceId);
    try {
      await waitFor("worker dropped", async () => (await t.api.workers()).workers.length === 1, {
        timeoutMs: 5000,
      });
      const droppedAfter = Date.now() - lastHeartbeatAt;
      // 100 ms: secondsSinceHeartbeat's resolution and the two requests around it.
      expect(droppedAfter, "not before the dead timeout (1.5 s) after its last heartbeat").to.be.greaterThan(
        1400,
      );
      expect((await t.api.workers()).workers.map((w) => w.instanceId)).not.to.include(worker.instanceId);
      expect(
        t.env.live("worker").map((w) => w.instanceId),
        "a paused worker is not replaced",
      ).to.include(worker.instanceId);
    } finally {
      t.env.resume(worker.instanceId);
    }
    await waitFor("worker back", async () => (await t.api.workers()).workers.length === 2, {
      timeoutMs: 3000,
    });
  });

  it("a killed controller is replaced by a new instance that claims the Elastic IP; workers re-register", async () => {
    const old = controller()!;
    t.env.kill(old.instanceId);
    await waitFor("edge answers 503", async () => (await fetch(`${t.env.endpoint}/healthz`)).status === 503, {
      timeoutMs: 2000,
    });
    const gap = await fetch(`${t.env.endpoint}/healthz`);
    expect(((await gap.json()) as { error: { code: string } }).error.code).to.equal("ServiceUnavailable");

    let fresh = "";
    await waitFor(
      "new controller serves at the Elastic IP",
      async () => {
        const res = await fetch(`${t.env.endpoint}/healthz`);
        fresh = res.ok ? ((await res.json()) as { instanceId: string }).instanceId : "";
        return fresh !== "" && fresh !== old.instanceId;
      },
      { timeoutMs: 15_000 },
    );
    expect(t.env.list().find((i) => i.instanceId === old.instanceId)?.state).to.equal("terminated");
    const first = await t.api.workers();
    expect(first.controllerInstanceId).to.equal(fresh);
    await waitFor(
      "workers re-registered within an interval",
      async () => (await t.api.workers()).workers.length === 2,
      { timeoutMs: 2000 },
    );
    const activities = t.env.reconciler.list().map(({ autoScalingGroupName, kind, reason, instanceId }) => ({
      autoScalingGroupName,
      kind,
      reason,
      instanceId,
    }));
    expect(activities).to.deep.include({
      autoScalingGroupName: GROUP.controller,
      kind: "terminate",
      reason: "unhealthy",
      instanceId: old.instanceId,
    });
    expect(activities).to.deep.include({
      autoScalingGroupName: GROUP.controller,
      kind: "launch",
      reason: "capacity",
      instanceId: fresh,
    });
  });
});
