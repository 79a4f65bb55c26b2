import { mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import type { Argv, CommandModule } from "yargs";
import { waitFor, WaitAbortedError, WaitTimeoutError } from "../../emulator/wait";
import { pidAlive } from "../config";
import { UserError } from "../errors";
import { readLocalDeployState } from "../local-deploy-state";

interface Args {
  name: string;
  "aws-endpoint": string;
  "edge-port": number;
  "state-file": string;
  "log-file"?: string;
  "ready-within-s": number;
  detach: boolean;
}

export const localDeployUpCommand: CommandModule<object, Args> = {
  command: "up",
  describe:
    "Boot a deployment Terraform applied to the local cloud: its groups' instances run as processes, its controller serves through an edge of its own (make deploy TARGET=local runs this)",
  builder: (y: Argv) =>
    y
      .option("name", {
        type: "string",
        demandOption: true,
        describe: "Terraform's name: the prefix of the deployment's resources",
      })
      .option("aws-endpoint", {
        type: "string",
        default: "http://127.0.0.1:4566",
        describe: "the AWS emulator Terraform applied to",
      })
      .option("edge-port", {
        type: "number",
        default: 8081,
        describe: "where the deployment's Elastic IP edge listens on 127.0.0.1",
      })
      .option("state-file", {
        type: "string",
        demandOption: true,
        describe: "where the runner records itself (make deploy: .faas/terraform-local/runner.json)",
      })
      .option("log-file", {
        type: "string",
        describe: "with --detach: the runner's log (default: beside the state file)",
      })
      .option("ready-within-s", { type: "number", default: 120 })
      .option("detach", { alias: "d", type: "boolean", default: false, describe: "run in the background" }),
  handler: async (args) => {
    const existing = readLocalDeployState(args["state-file"]);
    if (existing !== undefined && pidAlive(existing.pid))
      throw new UserError(
        `the deployment ${existing.name} already runs (pid ${existing.pid}) at ${existing.endpoint}: \`faas local-deploy down --state-file ${args["state-file"]}\` stops it`,
      );
    if (args.detach) {
      await startDetached(args);
      return;
    }
    // Loaded here: the emulator brings the AWS SDK, which a settings mistake should not wait for.
    const { runLocalDeploy } = await import("../local-deploy-runner");
    await runLocalDeploy({
      name: args.name,
      awsEndpoint: args["aws-endpoint"],
      edgePort: args["edge-port"],
      stateFile: args["state-file"],
      readyWithinMs: args["ready-within-s"] * 1000,
    });
  },
};

/** Runs the same command without --detach in the background, logging to a file, until it is ready. */
async function startDetached(args: Args): Promise<void> {
  const stateFile = args["state-file"];
  const logFile = args["log-file"] ?? path.join(path.dirname(stateFile), "runner.log");
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, "w");
  const argv = process.argv.slice(1).filter((a) => a !== "-d" && a !== "--detach");
  const child = spawn(process.execPath, argv, { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  const exited = () => child.exitCode !== null || (child.pid !== undefined && !pidAlive(child.pid));
  try {
    const state = await waitFor(
      `the deployment ${args.name} to serve`,
      () => {
        const state = readLocalDeployState(stateFile);
        return state?.ready === true && state.pid === child.pid ? state : undefined;
      },
      {
        timeoutMs: args["ready-within-s"] * 1000 + 15_000,
        intervalMs: 200,
        abortIf: () => (exited() ? "it exited" : undefined),
      },
    );
    process.stdout.write(
      `deployment ${state.name} (${state.envId}, runner pid ${state.pid}) serves at ${state.endpoint}, ready in ${((state.readyMs ?? 0) / 1000).toFixed(1)} s; logs: ${logFile}\n`,
    );
    return;
  } catch (err) {
    if (err instanceof WaitAbortedError)
      throw new UserError(`the deployment ${args.name} failed to boot; see ${logFile}`);
    if (!(err instanceof WaitTimeoutError)) throw err;
  }
  if (child.pid !== undefined && pidAlive(child.pid)) {
    process.kill(child.pid, "SIGTERM");
    await waitFor("the runner to stop", () => exited(), { timeoutMs: 30_000, intervalMs: 200 }).catch(
      () => undefined,
    );
  }
  throw new UserError(`the deployment ${args.name} did not serve in time and was stopped; see ${logFile}`);
}
