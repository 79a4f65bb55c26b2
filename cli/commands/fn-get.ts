import type { Argv, CommandModule } from "yargs";
import { PlatformClient } from "../../client/platform-client";
import { loadCliConfig, resolveTarget } from "../config";

export const fnGetCommand: CommandModule<object, { name: string }> = {
  command: "get <name>",
  describe: "Describe a function",
  builder: (y: Argv) => y.positional("name", { type: "string", demandOption: true }),
  handler: async (args) => {
    const target = resolveTarget(loadCliConfig());
    const record = await new PlatformClient(target.endpoint, target.apiKey).getFunction(args.name);
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  },
};
