/**
 * What CloudWatch Logs holds of each scenario, read back the way an operator reads it after the fact
 * (issue 13): the lines the log groups' metric filters count within the scenario's window (the
 * Terraform's Error filter on the controller group, evaluated here because moto never does), and the
 * last lines of the instance the fault hit, from its own stream — for a killed instance, what it was
 * doing when it died, written by its agent after the instance was gone. Read once the scenarios are
 * over, after every line they wrote had the agent's flush interval to ship.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { Role } from "../backends/backend";
import { metricFiltersOf, ownTime, readEvents, ReadEvent } from "../cloudwatch/log-reader";
import { parseAgentConfig, renderAgentConfig } from "../log-agent/agent-config";
import type { ScenarioResult } from "./result";

/** How many of a scenario's error lines the journal and the report keep (the count is complete). */
export const ERROR_LINES_KEPT = 20;
/** How many of the victim's last lines they show. */
export const VICTIM_LINES_KEPT = 15;

export interface LogLine {
  /** The line's own time (pino's, to the millisecond); the event's timestamp has only its second. */
  at: number;
  group: string;
  /** The stream: the instance id. */
  stream: string;
  message: string;
}

export interface ScenarioLogs {
  /** Lines of the scenario's window that a metric filter of their group counts. */
  errors: {
    count: number;
    /** The first ERROR_LINES_KEPT of them, oldest first. */
    lines: LogLine[];
    /** The filters evaluated, as CloudWatch holds them. */
    filters: { group: string; name: string; pattern: string }[];
  };
  /** The victim's stream up to the scenario's end. */
  victim?: {
    role: Role;
    instanceId: string;
    group: string;
    /** Events in its stream. */
    total: number;
    /** Its last VICTIM_LINES_KEPT lines, oldest first. */
    lastLines: LogLine[];
  };
  /** Why CloudWatch Logs could not be read, when it could not: shown instead of empty sections. */
  unreadable?: string;
}

/**
 * How long after a line is written it is readable at the latest while its instance lives: the AMI's
 * agent configuration's flush interval, plus a file poll and a PutLogEvents call.
 */
export function shippingDelayMs(): number {
  const config = parseAgentConfig(renderAgentConfig("/var/log/faas/role.log", "/faas/role"), {
    instanceId: "i-0",
    hostname: "localhost",
  });
  return config.forceFlushIntervalMs + 1000;
}

export async function readScenarioLogs(
  client: CloudWatchLogsClient,
  groups: Record<Role, string>,
  result: Pick<ScenarioResult, "startedAt" | "endedAt" | "victim">,
): Promise<ScenarioLogs> {
  const logs: ScenarioLogs = { errors: { count: 0, lines: [], filters: [] } };
  // The agent's timestamps are the lines' own, cut to the second: the window starts on a second.
  const startTime = Math.floor(result.startedAt / 1000) * 1000;
  try {
    const counted: LogLine[] = [];
    for (const group of Object.values(groups)) {
      const filters = await metricFiltersOf(client, group);
      if (filters.length === 0) continue;
      logs.errors.filters.push(...filters.map((f) => ({ group, name: f.name, pattern: f.pattern.source })));
      const events = await readEvents(client, { group, startTime, endTime: result.endedAt });
      for (const e of events) {
        // The window by the line's own time: the event's, cut to the second, may be the next scenario's.
        const at = ownTime(e);
        if (at < result.startedAt || at > result.endedAt) continue;
        if (filters.some((f) => f.pattern.matches(e.message))) counted.push(lineOf(group, e));
      }
    }
    logs.errors.count = counted.length;
    logs.errors.lines = counted.sort((a, b) => a.at - b.at).slice(0, ERROR_LINES_KEPT);
    const victim = result.victim;
    if (victim !== undefined) {
      const group = groups[victim.role];
      const stream = await readEvents(client, {
        group,
        streams: [victim.instanceId],
        endTime: result.endedAt,
      });
      logs.victim = {
        ...victim,
        group,
        total: stream.length,
        lastLines: stream.slice(-VICTIM_LINES_KEPT).map((e) => lineOf(group, e)),
      };
    }
  } catch (err) {
    logs.unreadable = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  }
  return logs;
}

function lineOf(group: string, e: ReadEvent): LogLine {
  return { at: ownTime(e), group, stream: e.stream, message: e.message };
}
