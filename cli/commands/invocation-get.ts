import type { Argv, CommandModule } from "yargs";
import { PlatformClient } from "../../client/platform-client";
import { loadCliConfig, resolveTarget } from "../config";

export const invocationGetCommand: CommandModule<object, { id: string }> = {
  command: "get <id>",
  describe: "Show an invocation: status, result or error, worker, attempts, duration, logs",
  builder: (y: Argv) => y.positional("id", { type: "string", demandOption: true }),
  handler: async (args) => {
    const target = resolveTarget(loadCliConfig());
    const view = await new PlatformClient(target.endpoint, target.apiKey).getInvocation(args.id);
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  },
};
