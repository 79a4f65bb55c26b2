/** `faas <noun> <verb>`: one file per command under commands/, HTTP in client.ts. */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { costCommand } from "./commands/cost";
import { devActivitiesCommand } from "./commands/dev-activities";
import { devDownCommand } from "./commands/dev-down";
import { devKillCommand, devPauseCommand, devResumeCommand } from "./commands/dev-instance";
import { devStatusCommand } from "./commands/dev-status";
import { devUpCommand } from "./commands/dev-up";
import { fnDeployCommand } from "./commands/fn-deploy";
import { fnGetCommand } from "./commands/fn-get";
import { fnInvokeCommand } from "./commands/fn-invoke";
import { fnListCommand } from "./commands/fn-list";
import { fnLogsCommand } from "./commands/fn-logs";
import { fnRmCommand } from "./commands/fn-rm";
import { invocationGetCommand } from "./commands/invocation-get";
import { localDeployDownCommand } from "./commands/local-deploy-down";
import { localDeployUpCommand } from "./commands/local-deploy-up";
import { logsCommand } from "./commands/logs";
import { setupCommand } from "./commands/setup";
import { workersCommand } from "./commands/workers";
import { UserError, userMessage } from "./errors";

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName("faas")
    .command("dev", "Run the platform locally", (y) =>
      y
        .command(devUpCommand)
        .command(devDownCommand)
        .command(devStatusCommand)
        .command(devActivitiesCommand)
        .command(devKillCommand)
        .command(devPauseCommand)
        .command(devResumeCommand)
        .demandCommand(1, "name a dev command"),
    )
    .command(setupCommand)
    .command("fn", "Deploy, invoke and manage functions", (y) =>
      y
        .command(fnDeployCommand)
        .command(fnInvokeCommand)
        .command(fnListCommand)
        .command(fnGetCommand)
        .command(fnRmCommand)
        .command(fnLogsCommand)
        .demandCommand(1, "name a fn command"),
    )
    .command("invocation", "Inspect invocations", (y) =>
      y.command(invocationGetCommand).demandCommand(1, "name an invocation command"),
    )
    .command(
      "local-deploy",
      "Boot a Terraform deployment on the local cloud (make deploy TARGET=local)",
      (y) =>
        y
          .command(localDeployUpCommand)
          .command(localDeployDownCommand)
          .demandCommand(1, "name a local-deploy command"),
    )
    .command(workersCommand)
    .command(logsCommand)
    .command(costCommand)
    .demandCommand(1, "name a command")
    .strict()
    .fail((msg, err) => {
      throw err instanceof Error ? err : new UserError(`${msg} (see \`faas --help\`)`);
    })
    .help()
    .parseAsync();
}

main().catch((err: unknown) => {
  const message = userMessage(err);
  if (message !== undefined) {
    process.stderr.write(`faas: ${message}\n`);
  } else {
    process.stderr.write(
      `faas: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
