import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, platformClient, resolveTarget } from "../config";

export const fnGetCommand: CommandModule<object, { name: string }> = {
  command: "get <name>",
  describe: "Describe a function",
  builder: (y: Argv) => y.positional("name", { type: "string", demandOption: true }),
  handler: async (args) => {
    const target = resolveTarget(loadCliConfig());
    const record = await platformClient(target).getFunction(args.name);
    process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  },
};
