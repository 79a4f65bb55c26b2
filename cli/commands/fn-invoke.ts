import { readFileSync } from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, platformClient, resolveTarget } from "../config";
import { UserError } from "../errors";

interface Args {
  name: string;
  data?: string;
  file?: string;
  async: boolean;
  verbose: boolean;
  idempotencyKey?: string;
  deadline: number;
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
      .option("idempotency-key", {
        type: "string",
        describe:
          "run at most once per key (24 h): the same key again gets the same invocation; a new UUID by default",
      })
      .option("deadline", {
        type: "number",
        default: 60,
        describe: "seconds to keep retrying (outages, 429, 503) and waiting for a synchronous result",
      })
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
    if (!(args.deadline > 0)) throw new UserError("--deadline is a number of seconds greater than 0");
    const client = platformClient(target, {
      retry: { deadlineMs: args.deadline * 1000 },
    });
    const options = { idempotencyKey: args.idempotencyKey };
    if (args.async) {
      const { invocationId } = await client.invokeAsync(args.name, event, options);
      process.stdout.write(`${invocationId}\n`);
      return;
    }
    const out = await client.invoke(args.name, event, options);
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
