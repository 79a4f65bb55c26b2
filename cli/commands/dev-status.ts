import type { CommandModule } from "yargs";
import { EnvironmentStatus } from "../../emulator/admin-server";
import { renderStatus } from "../../emulator/status-table";
import { adminRequest } from "../admin";
import { loadCliConfig, platformClient, readDevState } from "../config";
import { UserError } from "../errors";

export const devStatusCommand: CommandModule = {
  command: "status",
  describe: "Show the instances, who holds the Elastic IP, and the registered workers",
  handler: async () => {
    const status = (await adminRequest("GET", "/status")) as EnvironmentStatus;
    const state = readDevState(loadCliConfig());
    if (state === undefined) throw new UserError("no environment is running");
    const workers = await platformClient(state)
      .workers()
      .catch(() => undefined);
    process.stdout.write(`${renderStatus(status, workers)}\n`);
  },
};
