import { WorkerList } from "../contracts";
import { EnvironmentStatus } from "./admin-server";

/** The short status table `make dev` and `faas dev status` print. */
export function renderStatus(status: EnvironmentStatus, workers: WorkerList | undefined): string {
  // With a standby, two controllers run: the Elastic IP's holder is the active one.
  const running = status.instances.filter((i) => i.role === "controller" && i.state === "running");
  const roleOf = (i: EnvironmentStatus["instances"][number]) =>
    running.length > 1 && running.includes(i)
      ? `controller (${i.instanceId === status.elasticIp.instanceId ? "active" : "standby"})`
      : i.role;
  const rows = status.instances.map((i) => [
    roleOf(i),
    i.instanceId,
    i.state,
    String(i.pid ?? "-"),
    i.instanceId === status.elasticIp.instanceId ? `holds ${status.elasticIp.publicIp}` : "",
  ]);
  const lines = [
    `environment ${status.envId} (${status.runtime} runtime)`,
    `  API (Elastic IP edge): ${status.endpoint}   AWS emulator: ${status.awsEndpoint}   Redis: ${status.redisUrl}`,
    `  Elastic IP ${status.elasticIp.publicIp} (${status.elasticIp.allocationId}) -> ${status.elasticIp.instanceId ?? "not associated"}`,
    "",
    table([["ROLE", "INSTANCE", "STATE", "PID", "ELASTIC IP"], ...rows]),
    "",
    ...logLines(status.logs),
  ];
  if (workers === undefined) {
    lines.push("registered workers: controller not reachable");
  } else {
    lines.push(
      `registered workers (controller ${workers.controllerInstanceId}${workers.filling ? ", registry still filling" : ""}): ${workers.workers.length}`,
    );
    for (const line of sandboxLines(workers)) lines.push(line);
    if (workers.workers.length > 0) {
      lines.push(
        table([
          ["WORKER", "INSTANCE", "LAST HEARTBEAT", "SLOTS"],
          ...workers.workers.map((w) => [
            w.workerId,
            w.instanceId,
            `${w.secondsSinceHeartbeat}s ago`,
            `${w.slotsInUse}/${w.slotsTotal}`,
          ]),
        ]),
      );
    }
  }
  return lines.join("\n");
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map(
      (r) =>
        "  " +
        r
          .map((cell, c) => cell.padEnd(widths[c] ?? 0))
          .join("  ")
          .trimEnd(),
    )
    .join("\n");
}

/** Each log group's Error lines, as its metric filters count them over the shipped events. */
function logLines(logs: EnvironmentStatus["logs"]): string[] {
  if (logs === undefined || logs.length === 0) return [];
  const hours = (logs[0]?.windowMs ?? 3600_000) / 3600_000;
  const rows = logs.map((g) => {
    const behind = Date.now() - g.countedUpTo > 60_000 ? ` (counted up to ${clock(g.countedUpTo)})` : "";
    return [
      g.group,
      g.filters.length === 0 ? "(no metric filter)" : g.filters.join(" | "),
      g.filters.length === 0 ? "-" : `${g.errorLines}${behind}`,
      g.last === undefined ? "" : `${clock(g.last.at)} ${g.last.stream}`,
      g.unavailable === undefined ? "" : `not read: ${g.unavailable}`,
    ];
  });
  return [
    `error lines (CloudWatch Logs, metric filters evaluated here over the last ${hours} h):`,
    table([["LOG GROUP", "METRIC FILTER", "ERROR LINES", "LAST", ""], ...rows]),
    "",
  ];
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

/** What the workers' function sandboxes guarantee here, once per distinct set (docs/isolation.md). */
function sandboxLines(workers: WorkerList): string[] {
  const seen = new Map<string, string[]>();
  for (const w of workers.workers) {
    const s = w.sandbox;
    if (s === undefined) continue;
    const head =
      s.mechanism === "bwrap"
        ? `function sandbox: bubblewrap (${s.namespaces.join(", ")} namespaces; network ${s.network}; seccomp ${s.seccomp === true ? "on" : "off"}; /tmp ${s.tmpMb} MB); ` +
          `host uid per sandbox: ${s.uidPerSandbox ? "yes" : "no"}; cgroup caps: ${s.cgroups.length > 0 ? s.cgroups.join(", ") : "none (RSS watchdog)"}`
        : "function sandbox: NONE (FAAS_SANDBOX=insecure-process): functions run as plain processes";
    seen.set(head, s.notes);
  }
  return [...seen].flatMap(([head, notes]) => [head, ...notes.map((n) => `  note: ${n}`)]);
}
