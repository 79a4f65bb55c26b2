import type { CommandModule } from "yargs";
import { EnvironmentStatus } from "../../emulator/admin-server";
import { renderStatus } from "../../emulator/status-table";
import { ApiClient } from "../client";
import { loadCliConfig, pidAlive, readDevState } from "../config";
import { UserError } from "../errors";

export const devStatusCommand: CommandModule = {
  command: "status",
  describe: "Show the instances, who holds the Elastic IP, and the registered workers",
  handler: async () => {
    const config = loadCliConfig();
    const state = readDevState(config);
    if (state === undefined || !pidAlive(state.pid))
      throw new UserError("no environment is running: `make dev` starts one");
    const res = await fetch(`${state.adminUrl}/status`);
    const status = (await res.json()) as EnvironmentStatus;
    const workers = await new ApiClient(state.endpoint, state.apiKey).workers().catch(() => undefined);
    process.stdout.write(`${renderStatus(status, workers)}\n`);
  },
};
