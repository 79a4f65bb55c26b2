import { readFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { PlatformClient } from "../../client/platform-client";
import { loadCliConfig, resolveTarget } from "../config";
import { UserError } from "../errors";

interface Args {
  name: string;
  data?: string;
  file?: string;
  async: boolean;
  verbose: boolean;
}

export const fnInvokeCommand: CommandModule<object, Args> = {
  command: "invoke <name>",
  describe: "Invoke a function and print its result (or, with --async, the invocation id)",
  builder: (y: Argv) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("data", { type: "string", describe: "the event, as JSON" })
      .option("file", { type: "string", describe: "read the event from a JSON file" })
      .option("async", { type: "boolean", default: false })
      .option("verbose", {
        alias: "v",
        type: "boolean",
        default: false,
        describe: "show invocation id, worker and duration",
      }),
  handler: async (args) => {
    const event = parseEvent(
      args.data ?? (args.file === undefined ? undefined : readFileSync(args.file, "utf8")),
    );
    const target = resolveTarget(loadCliConfig());
    const client = new PlatformClient(target.endpoint, target.apiKey);
    if (args.async) {
      const { invocationId } = await client.invokeAsync(args.name, event);
      process.stdout.write(`${invocationId}\n`);
      return;
    }
    const out = await client.invoke(args.name, event);
    if (args.verbose) {
      process.stderr.write(
        `invocation ${out.invocationId ?? "?"} on ${out.workerId ?? "?"} in ${out.durationMs ?? "?"} ms (cold start: ${out.coldStart ?? "?"})\n`,
      );
    }
    process.stdout.write(`${JSON.stringify(out.body, null, 2)}\n`);
    if (out.functionError !== undefined) process.exitCode = 1;
  },
};

function parseEvent(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UserError(`the event is not valid JSON: ${(err as Error).message}`);
  }
}
