import type { Argv, CommandModule } from "yargs";
import { LogFollower, metricFiltersOf, readEvents, ReadEvent } from "../../emulator/cloudwatch/log-reader";
import { explainLogsError, logTarget, parseSince } from "../log-target";
import { UserError } from "../errors";

interface Args {
  role: "controller" | "worker";
  instance?: string;
  since: string;
  follow: boolean;
  grep?: string;
  errors: boolean;
  prefix: string;
  endpoint?: string;
}

/**
 * `faas logs controller|worker`: the role's log group read back from CloudWatch Logs, every instance's
 * stream (terminated ones too) merged in time order, each line prefixed by its time and instance id.
 * `--errors` keeps the lines the group's metric filters count (the Error metric), evaluated here.
 */
export const logsCommand: CommandModule<object, Args> = {
  command: "logs <role>",
  describe: "Read the controller's or the workers' logs back from CloudWatch Logs, all instances merged",
  builder: (y: Argv) =>
    y
      .positional("role", { choices: ["controller", "worker"] as const, demandOption: true })
      .option("instance", { type: "string", describe: "only this instance's stream" })
      .option("since", {
        type: "string",
        default: "10m",
        describe: "how far back: 30s, 10m, 2h, 1d or a date",
      })
      .option("follow", { alias: "f", type: "boolean", default: false, describe: "keep printing new lines" })
      .option("grep", { type: "string", describe: "only lines containing this text (case-sensitive)" })
      .option("errors", {
        type: "boolean",
        default: false,
        describe: "only lines the group's metric filters count (the Error metric), and their count",
      })
      .option("prefix", { type: "string", default: "faas", describe: "the groups are /<prefix>/<role>" })
      .option("endpoint", {
        type: "string",
        describe: "CloudWatch Logs endpoint (default: the running dev environment's, else AWS)",
      }),
  handler: async (args) => {
    const group = `/${args.prefix}/${args.role}`;
    const target = await logTarget(args.endpoint);
    try {
      const startTime = parseSince(args.since);
      const filters = args.errors ? await metricFiltersOf(target.client, group) : [];
      if (args.errors && filters.length === 0)
        throw new UserError(
          `${group} has no metric filter at ${target.where}: --errors counts what its filters count`,
        );
      const keep = (e: ReadEvent) =>
        (args.grep === undefined || e.message.includes(args.grep)) &&
        (!args.errors || filters.some((f) => f.pattern.matches(e.message)));
      const options = {
        group,
        streams: args.instance === undefined ? undefined : [args.instance],
        startTime,
        // One filter: CloudWatch applies it too (moto answers every event to a JSON pattern, hence `keep`).
        filterPattern:
          filters.length === 1
            ? filters[0]?.pattern.source
            : args.grep === undefined
              ? undefined
              : quoted(args.grep),
      };
      const events = await readEvents(target.client, options);
      const shown = events.filter(keep);
      for (const e of shown) print(e);
      if (args.errors)
        process.stderr.write(
          `${shown.length} line(s) counted by ${filters.map((f) => `${f.name} (${f.pattern.source} → ${f.metric})`).join(", ")} since ${new Date(startTime).toISOString()}\n`,
        );
      if (!args.follow) return;
      const follower = new LogFollower(target.client, options);
      follower.markSeen(events);
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        for (const e of (await follower.poll()).filter(keep)) print(e);
      }
    } catch (err) {
      throw explainLogsError(err, group, target.where);
    } finally {
      if (!args.follow) target.client.destroy();
    }
  },
};

function print(e: ReadEvent): void {
  process.stdout.write(`${new Date(e.timestamp).toISOString()} ${e.stream} ${e.message}\n`);
}

/** A CloudWatch text pattern for an exact phrase. */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}
