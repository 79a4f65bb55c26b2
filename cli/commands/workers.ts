import type { CommandModule } from "yargs";
import { table } from "../../emulator/status-table";
import { loadCliConfig, platformClient, resolveTarget } from "../config";

export const workersCommand: CommandModule = {
  command: "workers",
  describe: "List the workers registered with the controller",
  handler: async () => {
    const target = resolveTarget(loadCliConfig());
    const list = await platformClient(target).workers();
    const head = `controller ${list.controllerInstanceId}: ${list.workers.length} worker(s)${list.filling ? " (registry still filling after a controller start)" : ""}`;
    const rows = list.workers.map((w) => [
      w.workerId,
      w.instanceId,
      w.status,
      `${w.secondsSinceHeartbeat}s`,
      `${w.slotsInUse}/${w.slotsTotal}`,
      `${w.coldStarts}/${w.warmStarts}`,
    ]);
    process.stdout.write(
      `${head}\n${rows.length ? table([["WORKER", "INSTANCE", "STATUS", "LAST HEARTBEAT", "SLOTS", "COLD/WARM"], ...rows]) : ""}\n`,
    );
  },
};
