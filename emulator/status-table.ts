import { WorkerList } from "../contracts";
import { EnvironmentStatus } from "./admin-server";

/** The short status table `make dev` and `faas dev status` print. */
export function renderStatus(status: EnvironmentStatus, workers: WorkerList | undefined): string {
  const rows = status.instances.map((i) => [
    i.role,
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
  ];
  if (workers === undefined) {
    lines.push("registered workers: controller not reachable");
  } else {
    lines.push(
      `registered workers (controller ${workers.controllerInstanceId}${workers.filling ? ", registry still filling" : ""}): ${workers.workers.length}`,
    );
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
