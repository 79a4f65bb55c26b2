import { expect } from "chai";
import { createLogger } from "../../services/common/logger";
import { WorkerRegistry } from "../../services/controller/worker-registry";

const beat = (workerId: string) => ({
  workerId,
  instanceId: `i-${workerId}`,
  slotsTotal: 4,
  slotsInUse: 1,
  coldStarts: 0,
  warmStarts: 0,
  startedAt: 0,
});

describe("WorkerRegistry", () => {
  let now = 0;
  const registry = () =>
    new WorkerRegistry(
      { heartbeatIntervalMs: 10_000, deadAfterMs: 30_000, now: () => now },
      createLogger("test", "silent"),
    );

  beforeEach(() => (now = 1_000_000));

  it("registers on the first heartbeat and knows the worker after", () => {
    const r = registry();
    expect(r.heartbeat(beat("a"))).to.equal("new");
    expect(r.heartbeat(beat("a"))).to.equal("known");
    expect(r.count).to.equal(1);
  });

  it("removes a worker silent for longer than the dead timeout, not before", () => {
    const r = registry();
    r.heartbeat(beat("a"));
    r.heartbeat(beat("b"));
    now += 25_000;
    r.heartbeat(beat("b"));
    now += 5_001;
    r.sweep();
    expect(r.list("i-c").workers.map((w) => w.workerId)).to.deep.equal(["b"]);
    now += 30_001;
    expect(r.list("i-c").workers).to.deep.equal([]);
  });

  it("says the registry is filling during the first interval after boot", () => {
    const r = registry();
    expect(r.list("i-c").filling).to.equal(true);
    now += 15_001;
    expect(r.list("i-c").filling).to.equal(false);
  });

  it("reports seconds since the last heartbeat and slots", () => {
    const r = registry();
    r.heartbeat(beat("a"));
    now += 2_500;
    const [w] = r.list("i-c").workers;
    expect(w).to.include({ secondsSinceHeartbeat: 2.5, slotsInUse: 1, slotsTotal: 4, instanceId: "i-a" });
  });
});
