import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ALL_SCENARIOS } from "../../emulator/chaos/scenarios";
import { runChaos, ChaosRun } from "../../emulator/chaos/run-chaos";

/** The scenarios' settings, shortened so a run fits in the suite. */
const SHORT_SETTINGS = {
  heartbeatIntervalMs: 500,
  deadAfterMs: 2000,
  visibilityTimeoutS: 3,
  queueCutMs: 2000,
  redisDownMs: 1500,
  patienceMs: 30_000,
};

describe("chaos scenarios with shortened timings (the same invariants as `make chaos-test`)", function () {
  this.timeout(300_000);
  let run: ChaosRun;
  const out = mkdtempSync(path.join(os.tmpdir(), "faas-chaos-"));
  const lines: string[] = [];

  before(async () => {
    run = await runChaos({
      scenarios: ALL_SCENARIOS,
      settings: SHORT_SETTINGS,
      outDir: out,
      log: (line) => lines.push(line),
    });
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it("runs every scenario and every hypothesis holds", () => {
    expect(run.results.map((r) => r.name)).to.deep.equal(ALL_SCENARIOS);
    for (const r of run.results) {
      const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`);
      expect(failed, `${r.name}:\n${lines.join("\n")}`).to.deep.equal([]);
    }
  });

  it("loses no accepted invocation and returns only correct results", () => {
    for (const r of run.results) {
      expect(r.invocations.accepted, r.name).to.be.greaterThan(0);
      expect(r.invocations.lost, r.name).to.equal(0);
      expect(r.invocations.wrongResults, r.name).to.equal(0);
      expect(r.invocations.completed, r.name).to.equal(r.invocations.accepted);
    }
  });

  it("measures recovery: a new controller serves, the killed worker's task runs again", () => {
    const controller = run.results.find((r) => r.name === "controller-kill")!;
    expect(controller.marks.detected).to.be.a("number");
    expect(controller.marks.eipServes).to.be.a("number").and.be.greaterThan(controller.marks.detected!);
    const worker = run.results.find((r) => r.name === "worker-kill")!;
    expect(worker.invocations.executedTwice, "the victim's task ran twice, by design").to.be.at.least(1);
  });

  it("refuses work while the queue endpoint or Redis is down, rather than accepting and losing it", () => {
    for (const name of ["queue-cut", "redis-restart"] as const) {
      const r = run.results.find((x) => x.name === name)!;
      expect(r.checks.find((c) => c.name.includes("503"))?.ok, name).to.equal(true);
    }
  });

  it("writes the journal and an HTML report with a timeline per scenario", () => {
    const journal = JSON.parse(readFileSync(run.files!.json, "utf8")) as {
      scenarios: unknown[];
      requests: unknown[];
    };
    expect(journal.scenarios).to.have.length(ALL_SCENARIOS.length);
    expect(journal.requests.length).to.be.greaterThan(50);
    const html = readFileSync(run.files!.html, "utf8");
    expect(html.match(/<svg /g)).to.have.length(ALL_SCENARIOS.length);
    expect(run.table).to.match(/controller-kill .* PASS/);
  });

  it("reads back from CloudWatch Logs each scenario's error lines and its victim's last lines, the killed controller's from its own stream up to the kill", () => {
    const withVictim = [
      "controller-kill",
      "controller-pause",
      "controller-replace",
      "worker-kill",
      "worker-pause",
    ];
    for (const r of run.results) {
      expect(r.logs, r.name).to.not.equal(undefined);
      expect(r.logs!.unreadable, r.name).to.equal(undefined);
      // The Terraform's Error filter, read back from the controller group and evaluated here.
      expect(
        r.logs!.errors.filters.map((f) => f.pattern),
        r.name,
      ).to.include("{ $.level >= 50 }");
      expect(r.logs!.errors.count, r.name).to.be.at.least(r.logs!.errors.lines.length);
      for (const line of r.logs!.errors.lines) {
        expect((JSON.parse(line.message) as { level: number }).level, line.message).to.be.at.least(50);
        expect(line.at, r.name).to.be.within(r.startedAt, r.endedAt);
      }
      expect(r.victim !== undefined, `${r.name} records its victim`).to.equal(withVictim.includes(r.name));
      if (r.victim === undefined) continue;
      const victim = r.logs!.victim!;
      expect(victim.instanceId, r.name).to.equal(r.victim.instanceId);
      expect(victim.lastLines.length, `${r.name}: last lines of ${victim.instanceId}`).to.be.at.least(1);
      expect(new Set(victim.lastLines.map((l) => l.stream)), r.name).to.deep.equal(
        new Set([r.victim.instanceId]),
      );
    }
    const killed = run.results.find((r) => r.name === "controller-kill")!;
    const last = killed.logs!.victim!.lastLines;
    expect(killed.victim!.role).to.equal("controller");
    // SIGKILLed, it wrote nothing after the fault (by the lines' own times).
    expect(last.at(-1)!.at, "the killed controller's last line").to.be.at.most(killed.faultAt);
    const journal = JSON.parse(readFileSync(run.files!.json, "utf8")) as {
      scenarios: { name: string; logs?: { victim?: { lastLines: { message: string }[] } } }[];
    };
    const inJournal = journal.scenarios.find((s) => s.name === "controller-kill")?.logs?.victim?.lastLines;
    expect(inJournal?.map((l) => l.message)).to.deep.equal(last.map((l) => l.message));
    const html = readFileSync(run.files!.html, "utf8");
    expect(html).to.include(`last lines of controller ${killed.victim!.instanceId}`);
    expect(run.table.split("\n")[0]).to.include("error lines");
  });
});

describe("chaos with a hot standby controller (issue 11: failover the caller never sees)", function () {
  this.timeout(300_000);
  let run: ChaosRun;
  const lines: string[] = [];
  const scenarios = ["controller-kill", "controller-pause", "controller-replace"] as const;

  before(async () => {
    run = await runChaos({
      scenarios: [...scenarios],
      standby: true,
      settings: SHORT_SETTINGS,
      log: (line) => lines.push(line),
    });
  });

  it("the standby serves within seconds of each fault, and the retrying caller sees no error", () => {
    expect(run.results.map((r) => r.name)).to.deep.equal(scenarios);
    for (const r of run.results) {
      const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`);
      expect(failed, `${r.name}:\n${lines.join("\n")}`).to.deep.equal([]);
      expect(r.requests.failed, `${r.name}: client-visible errors`).to.equal(0);
      expect(r.invocations.lost, r.name).to.equal(0);
      expect(r.invocations.completed, r.name).to.equal(r.invocations.accepted);
      // Lease expiry (2 s) + a renewal + the claim; the planned stop hands over at once.
      expect(r.marks.eipServes, r.name).to.be.a("number").and.below(6000);
    }
  });
});
