import type { CommandModule } from "yargs";
import { ScalingActivity } from "../../emulator/reconciler";
import { table } from "../../emulator/status-table";
import { adminRequest } from "../admin";

export const devActivitiesCommand: CommandModule = {
  command: "activities",
  describe: "What the Auto Scaling reconciler did (as DescribeScalingActivities)",
  handler: async () => {
    const { Activities } = (await adminRequest("GET", "/activities")) as { Activities: ScalingActivity[] };
    const rows = Activities.map((a) => [
      a.startTime.slice(11, 23),
      a.autoScalingGroupName,
      a.kind,
      a.reason,
      a.instanceId ?? "-",
      a.statusCode,
    ]);
    process.stdout.write(
      `${table([["TIME", "GROUP", "ACTION", "REASON", "INSTANCE", "STATUS"], ...rows])}\n`,
    );
    for (const a of Activities.slice(0, 5)) process.stdout.write(`\n${a.description}\n  cause: ${a.cause}\n`);
  },
};
