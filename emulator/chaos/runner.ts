/**
 * Plays one scenario: the steady state must hold before the fault; the scenario injects its fault and
 * makes its checks while watchers record what happens; the steady state must come back; then every
 * invocation accepted meanwhile is followed to its end. Marks are the events' own timestamps minus the
 * fault's start, so the order in which a scenario looks at things changes no figure.
 */
import { account, deadLettered } from "./accounting";
import { ChaosClient, ChaosTarget, FaultWindow, MarkRecorder, Scenario, ScenarioContext } from "./context";
import { LoadGenerator, rawFailures, RequestRecord } from "./load";
import { ChaosSettings, Check, ms, ScenarioResult } from "./result";
import { ScenarioName } from "./scenarios";
import { heldThroughout, steadyStateProbe, SteadyStateWatcher } from "./steady-state";
import { Watcher } from "./watcher";

export interface ScenarioDeps {
  target: ChaosTarget;
  client: ChaosClient;
  load: Pick<LoadGenerator, "between">;
  settings: ChaosSettings;
  log: (line: string) => void;
  /** How often the steady state is probed (200 ms unless a test says otherwise). */
  steadyIntervalMs?: number;
}

export async function runScenario(
  scenario: Scenario<ScenarioName>,
  deps: ScenarioDeps,
): Promise<ScenarioResult> {
  const { settings, log } = deps;
  const startedAt = Date.now();
  const checks: Check[] = [];
  const own: RequestRecord[] = [];
  const watchers: Watcher<unknown>[] = [];
  let victim: ScenarioResult["victim"];
  const ctx: ScenarioContext = {
    target: deps.target,
    client: deps.client,
    load: deps.load,
    settings,
    fault: new FaultWindow(),
    marks: new MarkRecorder(),
    log,
    check: (name, ok, detail) => checks.push({ name, ok, detail }),
    track: (record) => own.push(record),
    victim: (role, instanceId) => (victim = { role, instanceId }),
    watch: (what, probe, options) => {
      const watcher = new Watcher(what, probe, options).start();
      watchers.push(watcher);
      return watcher;
    },
  };
  log(`\n=== ${scenario.name}: ${scenario.title}`);
  const settle = settings.patienceMs + settings.visibilityTimeoutS * 2000;
  const steady = new SteadyStateWatcher(
    steadyStateProbe(deps.client, deps.target),
    deps.steadyIntervalMs,
  ).start();
  let before: number | undefined;
  let steadyAt: number | undefined;
  try {
    before = await steady.back(startedAt, settle);
    ctx.check(
      "steady state before the fault",
      before !== undefined,
      before === undefined ? (steady.lastViolation() ?? "") : "",
    );
    try {
      await scenario.run(ctx);
    } finally {
      await Promise.all(watchers.map((w) => w.stop()));
    }
    steadyAt = await steady.back(ctx.fault.endAt ?? Date.now(), settle);
  } finally {
    // Stopped even when the scenario throws: a watcher left probing would keep the process alive.
    await steady.stop();
  }
  const faultAt = ctx.fault.at;
  const faultEndAt = ctx.fault.endAt ?? faultAt;
  ctx.marks.record("steady", steadyAt);
  const marks = ctx.marks.relativeTo(faultAt);
  ctx.check(
    "steady state after the fault",
    steadyAt !== undefined,
    steadyAt === undefined
      ? `not back within patience: ${steady.lastViolation() ?? "?"}`
      : `${ms(marks.steady)} after the fault`,
  );
  const endedAt = Date.now();

  const records = deps.load.between(startedAt, endedAt);
  const failed = (r: RequestRecord) => r.error !== undefined;
  const duringFault = (r: RequestRecord) => r.at >= faultAt && r.at <= (steadyAt ?? endedAt);
  const sum = (rs: RequestRecord[]) => rs.reduce((n, r) => n + rawFailures(r), 0);
  const invocations = await account([...records, ...own], {
    client: deps.client,
    deadLettered: () => deadLettered(deps.target),
    timeoutMs: settings.visibilityTimeoutS * 3000 + settings.patienceMs,
  });
  ctx.check(
    "no accepted invocation lost",
    invocations.lost === 0,
    `${invocations.completed}/${invocations.accepted} completed`,
  );
  ctx.check("every result correct", invocations.wrongResults === 0, `${invocations.wrongResults} wrong`);
  const passed = checks.every((c) => c.ok);
  log(
    `    ${passed ? "PASSED" : "FAILED"}: ${
      checks
        .filter((c) => !c.ok)
        .map((c) => c.name)
        .join(", ") || "all checks held"
    }`,
  );
  return {
    name: scenario.name,
    title: scenario.title,
    startedAt,
    faultAt,
    faultEndAt,
    endedAt,
    marks,
    hypothesis: {
      before: before !== undefined,
      during: heldThroughout(steady.observations, faultAt, faultEndAt),
      after: steadyAt !== undefined,
    },
    requests: {
      total: records.length,
      failed: records.filter(failed).length,
      failedDuringFault: records.filter((r) => failed(r) && duringFault(r)).length,
      rawFailed: sum(records),
      rawFailedDuringFault: sum(records.filter(duringFault)),
    },
    invocations,
    checks,
    passed,
    victim,
  };
}
