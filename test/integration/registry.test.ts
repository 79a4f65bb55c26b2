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

  const controller = () => t.env.list().find((i) => i.role === "controller" && i.state === "running");

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
    const worker = t.env.list().find((i) => i.role === "worker");
    const proc = t.env.instances.get(worker!.instanceId)!;
    proc.handle.signal("SIGSTOP");
    try {
      const stoppedAt = Date.now();
      await waitFor(async () => (await t.api.workers()).workers.length === 1, 5000, "worker dropped");
      const droppedAfter = Date.now() - stoppedAt;
      expect(droppedAfter, "not before the dead timeout (1.5 s)").to.be.greaterThan(1200);
      expect((await t.api.workers()).workers.map((w) => w.instanceId)).not.to.include(worker!.instanceId);
    } finally {
      proc.handle.signal("SIGCONT");
    }
    await waitFor(async () => (await t.api.workers()).workers.length === 2, 3000, "worker back");
  });

  it("a replaced controller answers 503 at the edge until the new one claims the address; workers re-register", async () => {
    const old = controller()!;
    await t.env.terminate(old.instanceId, true);
    const gap = await fetch(`${t.env.endpoint}/healthz`);
    expect(gap.status).to.equal(503);
    expect(((await gap.json()) as { error: { code: string } }).error.code).to.equal("ServiceUnavailable");

    const fresh = await t.env.launch("controller");
    expect(fresh.instanceId).not.to.equal(old.instanceId);
    await waitFor(
      async () =>
        ((await (await fetch(`${t.env.endpoint}/healthz`)).json()) as { instanceId?: string }).instanceId ===
        fresh.instanceId,
      10_000,
      "new controller serves at the Elastic IP",
    );
    const first = await t.api.workers();
    expect(first.filling, "a fresh registry says it is still filling").to.equal(true);
    await waitFor(
      async () => (await t.api.workers()).workers.length === 2,
      2000,
      "workers re-registered within an interval",
    );
  });
});
