import type { CommandModule } from "yargs";
import { rmSync } from "node:fs";
import { waitFor } from "../../emulator/wait";
import { loadCliConfig, pidAlive, readDevState } from "../config";
import { UserError } from "../errors";

export const devDownCommand: CommandModule = {
  command: "down",
  describe: "Stop the environment started by `faas dev up` and free its ports",
  handler: async () => {
    const config = loadCliConfig();
    const state = readDevState(config);
    if (state === undefined) throw new UserError("no environment is running");
    if (!pidAlive(state.pid)) {
      // Its emulator died without stopping it (SIGKILL, a crash): remove what it left, by its label.
      const { reapEnvironment } = await import("../../emulator/leftovers");
      const removed = await reapEnvironment(state.envId);
      rmSync(config.stateFile, { force: true });
      process.stdout.write(
        removed.length > 0
          ? `environment ${state.envId} had died; removed what it left: ${removed.join("; ")}\n`
          : `environment ${state.envId} had died and left nothing behind\n`,
      );
      return;
    }
    process.kill(state.pid, "SIGTERM");
    await waitFor(`environment pid ${state.pid} to stop`, () => !pidAlive(state.pid), {
      timeoutMs: 30_000,
    }).catch(() => {
      throw new UserError(`environment pid ${state.pid} did not stop within 30 s`);
    });
    rmSync(config.stateFile, { force: true });
    process.stdout.write(`environment ${state.envId} stopped\n`);
  },
};
