import { expect } from "chai";
import { Clock } from "../../emulator/clock";
import { Fleet, RECONCILE_INTERVAL_MS, Reconciler, ScalingTiming } from "../../emulator/reconciler";
import { Role } from "../../emulator/backends/backend";

/** Delays that fall between ticks, so each decision is checked one tick before and at the tick it is due. */
const TIMING: ScalingTiming = {
  detectionDelayMs: 2.5 * RECONCILE_INTERVAL_MS,
  terminationDelayMs: 1.5 * RECONCILE_INTERVAL_MS,
  bootDelayMs: 0,
  healthCheckIntervalMs: 10,
  unhealthyThreshold: 1,
  healthCheckGraceMs: 0,
  eipRemapDelayMs: 0,
};

/** Lets every promise chain started so far run to its next wait on the clock. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A clock that moves only when the test says so; due timers fire in time order. */
class ManualClock implements Clock {
  private time = Date.parse("2026-01-01T00:00:00Z");
  private readonly timers = new Set<{ at: number; fn: () => void; every?: number }>();

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.add({ at: this.time + ms, fn: resolve }));
  }

  every(ms: number, fn: () => void): () => void {
    const timer = { at: this.time + ms, fn, every: ms };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Moves time forward by `ms`, firing each timer when it is due and letting what it starts settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const due = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      if (due.every === undefined) this.timers.delete(due);
      else due.at += due.every;
      due.fn();
    }
    this.time = end;
    await settle();
  }
}

/** A fleet in memory: the reconciler's decisions without any process. */
class FakeFleet implements Fleet {
  instances = new Map<
    string,
    { role: Role; healthy: boolean; unhealthySince?: number; terminated: boolean }
  >();
  private n = 0;
  launches: string[] = [];
  terminations: string[] = [];
  constructor(private readonly clock: Clock) {}
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
    if (i === undefined) throw new Error(`no instance ${id}`);
    Object.assign(i, { healthy: false, unhealthySince: this.clock.now() });
  }
}

describe("Auto Scaling reconciler", () => {
  let clock: ManualClock;
  let fleet: FakeFleet;
  let reconciler: Reconciler;

  beforeEach(async () => {
    clock = new ManualClock();
    fleet = new FakeFleet(clock);
    reconciler = new Reconciler(
      [
        { name: "controller", role: "controller", min: 1, max: 1, desired: 1 },
        { name: "workers", role: "worker", min: 2, max: 4, desired: 2 },
      ],
      fleet,
      TIMING,
      () => undefined,
      clock,
    );
    await reconciler.start();
  });
  afterEach(() => reconciler.stop());

  it("launches every group to its desired capacity", () => {
    expect(fleet.members("controller")).to.have.length(1);
    expect(fleet.members("worker")).to.have.length(2);
  });

  it("records each launch with its kind, reason, group and instance as fields, not only as text", () => {
    const launches = reconciler
      .list()
      .map(({ autoScalingGroupName, kind, reason, instanceId, statusCode }) => ({
        autoScalingGroupName,
        kind,
        reason,
        instanceId,
        statusCode,
      }))
      .sort((a, b) => (a.instanceId ?? "").localeCompare(b.instanceId ?? ""));
    const [controller, ...workers] = fleet.launches;
    expect(launches).to.deep.equal([
      {
        autoScalingGroupName: "controller",
        kind: "launch",
        reason: "capacity",
        instanceId: controller,
        statusCode: "Successful",
      },
      ...workers.map((instanceId) => ({
        autoScalingGroupName: "workers",
        kind: "launch",
        reason: "capacity",
        instanceId,
        statusCode: "Successful",
      })),
    ]);
  });

  it("replaces an unhealthy instance after the detection delay, terminating before launching", async () => {
    const victim = fleet.members("controller")[0]?.instanceId;
    if (victim === undefined) throw new Error("no controller was launched");
    const launchedBefore = fleet.launches.length;
    fleet.fail(victim);

    // Ticks at 100 and 200 ms see the failure, which is not yet older than the 250 ms delay.
    await clock.advance(2 * RECONCILE_INTERVAL_MS);
    expect(fleet.terminations, "not before the detection delay").to.deep.equal([]);
    await clock.advance(RECONCILE_INTERVAL_MS);
    expect(fleet.terminations, "at the first tick after the detection delay").to.deep.equal([victim]);

    // The termination takes 150 ms (until 450 ms): the ticks before it ends launch nothing.
    await clock.advance(TIMING.terminationDelayMs - 1);
    expect(fleet.launches, "the replacement waits for the termination").to.have.length(launchedBefore);
    expect(reconciler.list()[0]).to.include({ statusCode: "InProgress", instanceId: victim });
    // The termination ends at 450 ms; the tick at 500 ms launches the replacement.
    await clock.advance(RECONCILE_INTERVAL_MS);
    expect(fleet.launches).to.have.length(launchedBefore + 1);
    expect(fleet.members("controller").map((m) => m.instanceId))
      .to.have.length(1)
      .and.not.include(victim);

    const [launched, terminated] = reconciler.list();
    if (launched === undefined || terminated === undefined) throw new Error("two activities expected");
    expect(launched.description).to.equal(`Launching a new EC2 instance: ${fleet.launches.at(-1)}`);
    expect(launched).to.include({
      autoScalingGroupName: "controller",
      kind: "launch",
      reason: "capacity",
      instanceId: fleet.launches.at(-1),
    });
    expect(terminated).to.include({
      description: `Terminating EC2 instance: ${victim}`,
      statusCode: "Successful",
      autoScalingGroupName: "controller",
      kind: "terminate",
      reason: "unhealthy",
      instanceId: victim,
    });
    expect(terminated.cause).to.include("health check");
    const terminationTook = Date.parse(terminated.endTime ?? "") - Date.parse(terminated.startTime);
    expect(terminationTook).to.equal(TIMING.terminationDelayMs);
    expect(Date.parse(launched.startTime)).to.be.at.least(Date.parse(terminated.endTime ?? ""));
  });

  it("never runs more than the maximum and follows a new desired capacity", async () => {
    reconciler.setDesired("workers", 4);
    await clock.advance(RECONCILE_INTERVAL_MS - 1);
    expect(fleet.members("worker"), "nothing happens between ticks").to.have.length(2);
    await clock.advance(1);
    expect(fleet.members("worker")).to.have.length(4);
    await clock.advance(10 * RECONCILE_INTERVAL_MS);
    expect(fleet.members("worker"), "later ticks launch no more").to.have.length(4);
    expect(() => reconciler.setDesired("workers", 5)).to.throw(/outside 2..4/);
    expect(() => reconciler.setDesired("controller", 2)).to.throw(/outside 1..1/);
    expect(fleet.members("worker")).to.have.length(4);
  });

  it("ticks no more once stopped", async () => {
    reconciler.stop();
    const victim = fleet.members("worker")[0]?.instanceId;
    if (victim === undefined) throw new Error("no worker was launched");
    fleet.fail(victim);
    await clock.advance(10 * RECONCILE_INTERVAL_MS);
    expect(fleet.terminations).to.deep.equal([]);
  });
});
