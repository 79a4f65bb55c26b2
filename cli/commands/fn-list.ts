import type { CommandModule } from "yargs";
import { table } from "../../emulator/status-table";
import { loadCliConfig, platformClient, resolveTarget } from "../config";

export const fnListCommand: CommandModule = {
  command: "list",
  aliases: ["ls"],
  describe: "List deployed functions",
  handler: async () => {
    const target = resolveTarget(loadCliConfig());
    const { functions } = await platformClient(target).listFunctions();
    if (functions.length === 0) {
      process.stdout.write("no functions deployed\n");
      return;
    }
    const rows = functions.map((f) => [
      f.name,
      String(f.version),
      f.handler,
      `${f.timeoutMs} ms`,
      `${f.memoryMb} MB`,
      f.updatedAt,
    ]);
    process.stdout.write(
      `${table([["NAME", "VERSION", "HANDLER", "TIMEOUT", "MEMORY", "UPDATED"], ...rows])}\n`,
    );
  },
};
