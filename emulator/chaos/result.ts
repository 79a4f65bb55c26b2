/** What a chaos run measures and decides for each scenario: the shape of the journal, the table and the report. */
import type { Role } from "../backends/backend";
import type { ScenarioLogs } from "./instance-logs";
import type { ScenarioName } from "./scenarios";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The recovery marks; docs/chaos.md says which event each one is read from. */
export type MarkName = "detected" | "replaced" | "eipServes" | "steady" | "reRegistered";

export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  startedAt: number;
  faultAt: number;
  faultEndAt: number;
  endedAt: number;
  /** Milliseconds after the fault. */
  marks: Partial<Record<MarkName, number>>;
  hypothesis: { before: boolean; during: boolean; after: boolean };
  /**
   * The load's requests. `failed`: errors the caller saw (after the client's retries); `rawFailed`:
   * HTTP attempts that failed, retried ones included — what a client without retries would have seen.
   */
  requests: {
    total: number;
    failed: number;
    failedDuringFault: number;
    rawFailed: number;
    rawFailedDuringFault: number;
  };
  invocations: InvocationAccount;
  checks: Check[];
  passed: boolean;
  /** The instance the fault hit, when it hit one. */
  victim?: { role: Role; instanceId: string };
  /**
   * What CloudWatch Logs holds of the scenario, read back once the run is over (instance-logs.ts):
   * the lines the groups' metric filters count, and the victim's last lines.
   */
  logs?: ScenarioLogs;
}

/** Every invocation accepted during a scenario, followed to its end. */
export interface InvocationAccount {
  accepted: number;
  completed: number;
  lost: number;
  executedTwice: number;
  wrongResults: number;
}

export interface ChaosSettings {
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  visibilityTimeoutS: number;
  queueCutMs: number;
  redisDownMs: number;
  /** How long to wait for anything to happen (replacement, steady state). */
  patienceMs: number;
}

export const ms = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n)
    ? "-"
    : n >= 10_000
      ? `${(n / 1000).toFixed(1)} s`
      : `${Math.round(n)} ms`;
