import type { Argv, CommandModule } from "yargs";
import { InvocationView } from "../../contracts";
import { PlatformClient, PlatformError } from "../../client/platform-client";
import { compileFilterPattern } from "../../emulator/cloudwatch/metric-filter";
import { LogFollower, readEvents, ReadEvent } from "../../emulator/cloudwatch/log-reader";
import { loadCliConfig, platformClient, resolveTarget } from "../config";
import { explainLogsError, logTarget, parseSince } from "../log-target";

interface Args {
  name: string;
  since: string;
  limit: number;
  follow: boolean;
  prefix: string;
  endpoint?: string;
}

/**
 * `faas fn logs NAME`: the function's recent invocations, each with what the function printed. Two
 * sources, each for what it holds: the workers' log group in CloudWatch Logs says which invocations of
 * the function finished, when, where and how (their "invocation finished" lines — the only index of
 * invocations by function, kept as long as the group's retention); the API's invocation record holds
 * the function's own output (`logs`, kept in Redis with the result, capped per invocation). An
 * invocation whose record has expired is listed without its output.
 */
export const fnLogsCommand: CommandModule<object, Args> = {
  command: "logs <name>",
  describe: "Show a function's recent invocations and what each printed",
  builder: (y: Argv) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("since", {
        type: "string",
        default: "1h",
        describe: "how far back: 30s, 10m, 2h, 1d or a date",
      })
      .option("limit", { type: "number", default: 10, describe: "the last N invocations" })
      .option("follow", {
        alias: "f",
        type: "boolean",
        default: false,
        describe: "keep printing new invocations",
      })
      .option("prefix", {
        type: "string",
        default: "faas",
        describe: "the workers' group is /<prefix>/worker",
      })
      .option("endpoint", {
        type: "string",
        describe: "CloudWatch Logs endpoint (default: the running dev environment's, else AWS)",
      }),
  handler: async (args) => {
    const group = `/${args.prefix}/worker`;
    const api = resolveTarget(loadCliConfig());
    const platform = platformClient(api);
    const target = await logTarget(args.endpoint);
    // JSON.stringify quotes the name as the pattern's string syntax needs.
    const finished = compileFilterPattern(
      `{ $.msg = "invocation finished" && $.function = ${JSON.stringify(args.name)} }`,
    );
    const options = { group, startTime: parseSince(args.since), filterPattern: finished.source };
    try {
      const events = await readEvents(target.client, options);
      for (const e of events.filter((x) => finished.matches(x.message)).slice(-args.limit))
        await show(platform, e);
      if (!args.follow) return;
      const follower = new LogFollower(target.client, options);
      follower.markSeen(events);
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        for (const e of (await follower.poll()).filter((x) => finished.matches(x.message)))
          await show(platform, e);
      }
    } catch (err) {
      throw explainLogsError(err, group, target.where);
    } finally {
      if (!args.follow) target.client.destroy();
    }
  },
};

async function show(platform: PlatformClient, e: ReadEvent): Promise<void> {
  const line = JSON.parse(e.message) as { invocationId?: unknown; status?: unknown; durationMs?: unknown };
  const id = typeof line.invocationId === "string" ? line.invocationId : "?";
  const view: InvocationView | undefined = await platform.getInvocation(id).catch((err: unknown) => {
    if (err instanceof PlatformError && err.status === 404) return undefined;
    throw err;
  });
  process.stdout.write(
    `── ${new Date(e.timestamp).toISOString()} ${id} ${String(line.status)} ${String(line.durationMs)} ms on ${e.stream}\n`,
  );
  if (view === undefined)
    process.stdout.write("   (the invocation's record has expired: its output is gone)\n");
  else if (view.logs !== "") process.stdout.write(view.logs.endsWith("\n") ? view.logs : `${view.logs}\n`);
}
