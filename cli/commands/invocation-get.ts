import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, platformClient, resolveTarget } from "../config";

export const invocationGetCommand: CommandModule<object, { id: string }> = {
  command: "get <id>",
  describe: "Show an invocation: status, result or error, worker, attempts, duration, logs",
  builder: (y: Argv) => y.positional("id", { type: "string", demandOption: true }),
  handler: async (args) => {
    const target = resolveTarget(loadCliConfig());
    const view = await platformClient(target).getInvocation(args.id);
    process.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
  },
};
