/**
 * The local cloud's SQS as a program: `node dist/emulator/queue/main.js --port 9324`. Prints one JSON
 * line when it listens (its endpoint and label), then nothing unless `--verbose` (one JSON line per
 * request). Stops on SIGTERM or SIGINT, and with its parent when started with FAAS_EXIT_WITH_PARENT=1.
 * The label (`--label`, or FAAS_ENV_ID from the environment the emulator starts it with) only says
 * whose it is: the process is found and reaped by FAAS_ENV_ID like moto (emulator/leftovers.ts).
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { exitWithParent } from "../../services/common/lifecycle";
import { startQueueService } from "./server";

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .scriptName("faas-queue")
    .usage("$0 [options]: an SQS-compatible queue service (standard queues), see docs/queue.md")
    .option("port", { type: "number", default: 9324, describe: "port to listen on (0: any free one)" })
    .option("host", { type: "string", default: "127.0.0.1", describe: "address to listen on" })
    .option("account", {
      type: "string",
      default: "000000000000",
      describe: "the account id in queue URLs and ARNs",
    })
    .option("region", { type: "string", default: "us-east-1", describe: "the region in queue ARNs" })
    .option("label", { type: "string", default: process.env.FAAS_ENV_ID, describe: "whose process this is" })
    .option("verbose", { type: "boolean", default: false, describe: "log every request as a JSON line" })
    .check((a) => {
      if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65_535)
        throw new Error(`--port ${a.port}: not a port`);
      if (!/^\d{12}$/.test(a.account)) throw new Error(`--account ${a.account}: an account id is 12 digits`);
      return true;
    })
    .strict()
    .parseAsync();
  const say = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
  const service = await startQueueService({
    port: args.port,
    host: args.host,
    accountId: args.account,
    region: args.region,
    log: args.verbose ? say : undefined,
  });
  say({ queueService: service.endpoint, label: args.label });
  const stop = () => void service.stop().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  exitWithParent(stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`queue service failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
