import { expect } from "chai";
import { Fleet, Reconciler, ScalingTiming } from "../../emulator/reconciler";
import { Role } from "../../emulator/runtime";

const TIMING: ScalingTiming = {
  detectionDelayMs: 30,
  terminationDelayMs: 30,
  bootDelayMs: 0,
  healthCheckIntervalMs: 10,
  unhealthyThreshold: 1,
  healthCheckGraceMs: 0,
};

/** A fleet in memory: the reconciler's decisions without any process. */
class FakeFleet implements Fleet {
  instances = new Map<
    string,
    { role: Role; healthy: boolean; unhealthySince?: number; terminated: boolean }
  >();
  private n = 0;
  launches: string[] = [];
  terminations: string[] = [];
  members(role: Role) {
    return [...this.instances.entries()]
      .filter(([, i]) => i.role === role && !i.terminated)
      .map(([instanceId, i]) => ({
        instanceId,
        healthy: i.healthy,
        unhealthySince: i.unhealthySince,
        reason: "test",
      }));
  }
  launch(role: Role) {
    const instanceId = `i-${++this.n}`;
    this.instances.set(instanceId, { role, healthy: true, terminated: false });
    this.launches.push(instanceId);
    return Promise.resolve({ instanceId });
  }
  terminate(id: string) {
    const i = this.instances.get(id);
    if (i) i.terminated = true;
    this.terminations.push(id);
    return Promise.resolve();
  }
  fail(id: string) {
    const i = this.instances.get(id);
    if (i) Object.assign(i, { healthy: false, unhealthySince: Date.now() });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Auto Scaling reconciler", () => {
  let fleet: FakeFleet;
  let reconciler: Reconciler;

  beforeEach(async () => {
    fleet = new FakeFleet();
    reconciler = new Reconciler(
      [
        { name: "controller", role: "controller", min: 1, max: 1, desired: 1 },
        { name: "workers", role: "worker", min: 2, max: 4, desired: 2 },
      ],
      fleet,
      TIMING,
    );
    await reconciler.start();
  });
  afterEach(() => reconciler.stop());

  it("launches every group to its desired capacity", () => {
    expect(fleet.members("controller")).to.have.length(1);
    expect(fleet.members("worker")).to.have.length(2);
  });

  it("replaces an unhealthy instance after the detection delay, terminating before launching", async () => {
    const [victim] = fleet.launches;
    fleet.fail(victim!);
    await sleep(10);
    expect(fleet.terminations, "not before the detection delay").to.deep.equal([]);
    await sleep(200);
    expect(fleet.terminations).to.deep.equal([victim]);
    expect(fleet.members("controller").map((m) => m.instanceId))
      .to.have.length(1)
      .and.not.include(victim);
    const activities = reconciler.list();
    expect(activities[0]?.description).to.match(/^Launching a new EC2 instance: i-/);
    expect(activities[1]).to.include({
      description: `Terminating EC2 instance: ${victim}`,
      statusCode: "Successful",
    });
    expect(activities[1]?.cause).to.include("health check");
    const terminatedAt = Date.parse(activities[1]!.startTime);
    const launchedAt = Date.parse(activities[0]!.startTime);
    expect(launchedAt - terminatedAt, "the replacement waits for the termination").to.be.at.least(
      TIMING.terminationDelayMs - 5,
    );
  });

  it("never runs more than the maximum and follows a new desired capacity", async () => {
    reconciler.setDesired("workers", 4);
    await sleep(150);
    expect(fleet.members("worker")).to.have.length(4);
    expect(() => reconciler.setDesired("workers", 5)).to.throw(/outside 2..4/);
    expect(() => reconciler.setDesired("controller", 2)).to.throw();
  });
});
