/**
 * A whole chaos run: a fresh local cloud on free ports (or the given ones), the checkable function,
 * steady load, then each scenario in turn. Used by `make chaos-test` and by the test suite with
 * shortened timings.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { Environment } from "../environment";
import { BackendKind as RuntimeKind } from "../backends/backend";
import { freePort } from "../ports";
import { waitForWorkers } from "../readiness";
import { FAST_TIMING, ScalingTiming } from "../reconciler";
import { PlatformClient } from "../../client/platform-client";
import { CHAOS_FUNCTION, CHECKABLE_FUNCTION, LoadGenerator } from "./load";
import { renderTable, writeReports } from "./report";
import { readScenarioLogs, shippingDelayMs } from "./instance-logs";
import { hold } from "./platform-probes";
import { ChaosSettings, ScenarioResult } from "./result";
import { runScenario } from "./runner";
import { scenario, ScenarioName } from "./scenarios";

export interface ChaosRunOptions {
  scenarios: ScenarioName[];
  /** Instances as processes (the default) or containers. */
  runtime?: RuntimeKind;
  scaling?: ScalingTiming;
  settings: ChaosSettings;
  workers?: number;
  /** A hot standby controller (the controller group 2/2). */
  standby?: boolean;
  syncPerSecond?: number;
  asyncPerSecond?: number;
  outDir?: string;
  /** How long the load's client keeps retrying one request (60 s, the client's default). */
  clientDeadlineMs?: number;
  log?: (line: string) => void;
  onComponentLog?: (source: string, line: string) => void;
}

export interface ChaosRun {
  results: ScenarioResult[];
  passed: boolean;
  table: string;
  files?: { json: string; html: string };
}

export async function runChaos(o: ChaosRunOptions): Promise<ChaosRun> {
  const log = o.log ?? (() => undefined);
  const apiKey = `chaos-${randomBytes(16).toString("hex")}`;
  const [edgePort, motoPort, redisPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const scaling = o.scaling ?? FAST_TIMING;
  log(
    `starting the local cloud on the ${o.runtime ?? "process"} runtime (heartbeat ${o.settings.heartbeatIntervalMs} ms, dead after ${o.settings.deadAfterMs} ms, boot ${scaling.bootDelayMs} ms)...`,
  );
  const env = await Environment.start({
    backend: o.runtime === "docker" ? { kind: "docker" } : { kind: "process", motoPort, redisPort },
    prefix: `chaos${randomBytes(2).toString("hex")}`,
    edgePort,
    workers: o.workers ?? 2,
    standby: o.standby ?? false,
    apiKey,
    workerSecret: randomBytes(24).toString("hex"),
    heartbeatIntervalMs: o.settings.heartbeatIntervalMs,
    workerDeadAfterMs: o.settings.deadAfterMs,
    visibilityTimeoutS: o.settings.visibilityTimeoutS,
    scaling,
    workerEnv: { FAAS_POLL_WAIT_S: String(Math.min(20, Math.max(1, o.settings.visibilityTimeoutS))) },
    onLog: (source, line) => o.onComponentLog?.(source, line),
    onActivity: (a) => {
      if (a.statusCode !== "InProgress") log(`    [autoscaling] ${a.autoScalingGroupName}: ${a.description}`);
    },
  });
  // The scenarios' probes see the platform as it is: one attempt each, no retries. Longer than a
  // visibility timeout: a message handed to a receive whose worker just died stays invisible that
  // long before another worker gets it (at-least-once, on SQS as on moto).
  const client = new PlatformClient(env.endpoint, apiKey, {
    requestTimeoutMs: o.settings.visibilityTimeoutS * 1000 + 15_000,
    retry: false,
  });
  // The load calls as a user's service would: retrying, within the client's deadline.
  const load = new LoadGenerator({
    client: new PlatformClient(env.endpoint, apiKey, { retry: { deadlineMs: o.clientDeadlineMs ?? 60_000 } }),
    functionName: CHAOS_FUNCTION,
    syncPerSecond: o.syncPerSecond ?? 4,
    asyncPerSecond: o.asyncPerSecond ?? 8,
  });
  const results: ScenarioResult[] = [];
  try {
    const upWithin = scaling.bootDelayMs + (env.runtime.kind === "docker" ? 120_000 : 60_000);
    if (!(await waitForWorkers(env.endpoint, apiKey, 1, upWithin)).ready) {
      throw new Error("the platform did not come up");
    }
    await client.deploy(CHAOS_FUNCTION, { source: CHECKABLE_FUNCTION, timeoutMs: 60_000 });
    load.start();
    for (const name of o.scenarios) {
      results.push(
        await runScenario(scenario(name), { target: env, client, load, settings: o.settings, log }),
      );
    }
    await readBackLogs(env, results, log);
  } finally {
    await load.stop();
    await env.stop();
  }
  const table = renderTable(results);
  let files: { json: string; html: string } | undefined;
  if (o.outDir !== undefined) {
    mkdirSync(o.outDir, { recursive: true });
    files = writeReports(
      o.outDir,
      {
        timing: scaling,
        settings: o.settings,
        runtime: env.runtime.kind,
        standby: o.standby ?? false,
        finishedAt: new Date().toISOString(),
      },
      results,
      load.records,
    );
  }
  return { results, passed: results.length > 0 && results.every((r) => r.passed), table, files };
}

/**
 * Each scenario's error lines and its victim's last lines, from CloudWatch Logs while the environment
 * still runs: terminated victims' agents shipped everything when their instance went; what live
 * instances wrote up to the last scenario's end has had the agent's flush interval to arrive.
 */
async function readBackLogs(env: Environment, results: ScenarioResult[], log: (line: string) => void) {
  const last = results.at(-1);
  if (last === undefined) return;
  // How long the agent may hold a line: a duration the configuration sets, not a condition to await.
  await hold(last.endedAt + shippingDelayMs() - Date.now());
  for (const r of results) {
    r.logs = await readScenarioLogs(env.clients.logs, env.resources.logGroups, r);
    const victim = r.logs.victim;
    log(
      `    ${r.name}: ${r.logs.unreadable ?? `${r.logs.errors.count} error lines`}${
        victim === undefined ? "" : `; ${victim.total} lines of ${victim.role} ${victim.instanceId} read back`
      }`,
    );
  }
}
