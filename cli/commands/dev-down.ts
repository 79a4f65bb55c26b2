import type { CommandModule } from "yargs";
import { rmSync } from "node:fs";
import { loadCliConfig, pidAlive, readDevState } from "../config";
import { UserError } from "../errors";

export const devDownCommand: CommandModule = {
  command: "down",
  describe: "Stop the environment started by `faas dev up` and free its ports",
  handler: async () => {
    const config = loadCliConfig();
    const state = readDevState(config);
    if (state === undefined || !pidAlive(state.pid)) {
      rmSync(config.stateFile, { force: true });
      throw new UserError("no environment is running");
    }
    process.kill(state.pid, "SIGTERM");
    const deadline = Date.now() + 30_000;
    while (pidAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(state.pid)) throw new UserError(`environment pid ${state.pid} did not stop within 30 s`);
    rmSync(config.stateFile, { force: true });
    process.stdout.write(`environment ${state.envId} stopped\n`);
  },
};
