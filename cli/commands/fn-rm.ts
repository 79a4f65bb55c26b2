import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, platformClient, resolveTarget } from "../config";

export const fnRmCommand: CommandModule<object, { name: string }> = {
  command: "rm <name>",
  aliases: ["delete"],
  describe: "Remove a function",
  builder: (y: Argv) => y.positional("name", { type: "string", demandOption: true }),
  handler: async (args) => {
    const target = resolveTarget(loadCliConfig());
    await platformClient(target).deleteFunction(args.name);
    process.stdout.write(`removed ${args.name}\n`);
  },
};
