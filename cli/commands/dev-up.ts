import { mkdirSync, openSync, rmSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import type { Argv, CommandModule } from "yargs";
import { loadCliConfig, pidAlive, readDevState } from "../config";
import { RUNTIME_REQUESTS, RuntimeRequest } from "../../emulator/runtime-request";
import { checkGivenCredentials } from "../credentials";
import { UserError } from "../errors";
import { waitFor, WaitAbortedError, WaitTimeoutError } from "../../emulator/wait";

interface Args {
  detach: boolean;
  workers: number;
  "edge-port": number;
  "moto-port": number;
  "redis-port": number;
  "aws-endpoint"?: string;
  "redis-url"?: string;
  queue: "local" | "moto";
  "heartbeat-interval-ms": number;
  "worker-dead-after-ms": number;
  "json-logs": boolean;
  "aws-timing": boolean;
  standby: boolean;
  tls: boolean;
  runtime: RuntimeRequest;
}

export const devUpCommand: CommandModule<object, Args> = {
  command: "up",
  describe:
    "Start the local cloud: AWS emulator, Redis, controller, workers and the Elastic IP edge, as processes or containers",
  builder: (y: Argv) =>
    y
      .option("detach", { alias: "d", type: "boolean", default: false, describe: "run in the background" })
      .option("workers", { type: "number", default: 2 })
      .option("runtime", {
        choices: RUNTIME_REQUESTS,
        default: "auto" as const,
        describe:
          "instances as containers (docker) or processes; auto: Docker when an engine answers and the images exist",
      })
      .option("edge-port", { type: "number", default: 8080, describe: "where the Elastic IP edge listens" })
      .option("moto-port", { type: "number", default: 4566, describe: "process runtime only" })
      .option("redis-port", { type: "number", default: 6379, describe: "process runtime only" })
      .option("aws-endpoint", { type: "string", describe: "use this AWS emulator instead of starting moto" })
      .option("redis-url", { type: "string", describe: "use this Redis instead of starting one" })
      .option("queue", {
        choices: ["local", "moto"] as const,
        default: "local" as const,
        describe:
          "process runtime: the platform's SQS is the local queue service (flat cost under a backlog, docs/queue.md) or moto's",
      })
      .option("heartbeat-interval-ms", { type: "number", default: 10_000 })
      .option("worker-dead-after-ms", { type: "number", default: 30_000 })
      .option("aws-timing", {
        type: "boolean",
        default: false,
        describe: "model EC2's delays: ~10 s to detect, ~30 s to boot a replacement",
      })
      .option("standby", {
        type: "boolean",
        default: false,
        describe:
          "a hot standby controller beside the active one (group 2/2): it takes the Elastic IP within ~2 s of the active's death (docs/failover.md)",
      })
      .option("tls", {
        type: "boolean",
        default: false,
        describe:
          "the public API over HTTPS with a self-signed certificate that bin/faas pins (process runtime)",
      })
      .option("json-logs", {
        type: "boolean",
        default: false,
        describe: "stream raw JSON log lines",
      })
      .check((a) => {
        // The controller and the workers refuse intervals under 10 ms (FAAS_HEARTBEAT_INTERVAL_MS,
        // FAAS_WORKER_DEAD_AFTER_MS): say so now rather than after their crash loop.
        for (const name of ["heartbeat-interval-ms", "worker-dead-after-ms"] as const) {
          if (!Number.isInteger(a[name]) || a[name] < 10)
            throw new UserError(`--${name} must be a whole number of milliseconds, at least 10`);
        }
        return true;
      }),
  handler: async (args) => {
    const config = loadCliConfig();
    checkGivenCredentials(config);
    const existing = readDevState(config);
    if (existing !== undefined && pidAlive(existing.pid)) {
      throw new UserError(
        `an environment is already running (${existing.envId}, pid ${existing.pid}): \`faas dev down\` stops it`,
      );
    }
    if (existing !== undefined) await removeLeftovers(existing.envId, config.stateFile);
    if (args.detach) {
      await startDetached(config.logFile, config.stateFile);
      return;
    }
    // Loaded here, not at the top: the emulator brings the AWS SDK (about a second), which neither
    // `faas --help` nor a settings mistake should wait for.
    const { runDev } = await import("../dev-runner");
    await runDev(config, {
      workers: args.workers,
      edgePort: args["edge-port"],
      motoPort: args["moto-port"],
      redisPort: args["redis-port"],
      awsEndpoint: args["aws-endpoint"],
      redisUrl: args["redis-url"],
      queue: args.queue,
      heartbeatIntervalMs: args["heartbeat-interval-ms"],
      workerDeadAfterMs: args["worker-dead-after-ms"],
      jsonLogs: args["json-logs"],
      awsTiming: args["aws-timing"],
      standby: args.standby,
      tls: args.tls,
      runtime: args.runtime,
    });
  },
};

/** Re-runs `faas dev up` without -d in the background, logging to a file, and waits until it is ready. */
async function startDetached(logFile: string, stateFile: string): Promise<void> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const out = openSync(logFile, "w");
  const argv = process.argv.slice(1).filter((a) => a !== "-d" && a !== "--detach");
  const child = spawn(process.execPath, argv, { detached: true, stdio: ["ignore", out, out] });
  child.unref();
  const config = loadCliConfig();
  const exited = () => child.exitCode !== null || (child.pid !== undefined && !pidAlive(child.pid));
  try {
    const state = await waitFor(
      "the environment to become ready",
      () => {
        const state = readDevState(config);
        return state?.ready === true && state.pid === child.pid ? state : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, abortIf: () => (exited() ? "it exited" : undefined) },
    );
    process.stdout.write(
      `environment ${state.envId} is up (pid ${state.pid}) at ${state.endpoint}; logs: ${logFile}\n`,
    );
    return;
  } catch (err) {
    if (err instanceof WaitAbortedError)
      throw new UserError(`the environment failed to start; see ${logFile}`);
    if (!(err instanceof WaitTimeoutError)) throw err;
  }
  // Not ready in time: stop the environment this command started rather than leave it running.
  if (child.pid !== undefined && pidAlive(child.pid)) {
    process.kill(child.pid, "SIGTERM");
    await waitFor("the environment to stop", () => exited(), { timeoutMs: 30_000, intervalMs: 200 }).catch(
      () => undefined,
    );
  }
  throw new UserError(
    `the environment did not become ready within 90 s and was stopped; see ${logFile} and ${stateFile}`,
  );
}

/** The last environment's emulator died without stopping it: remove what it left, by its label. */
async function removeLeftovers(envId: string, stateFile: string): Promise<void> {
  const { reapEnvironment } = await import("../../emulator/leftovers");
  const removed = await reapEnvironment(envId);
  if (removed.length > 0)
    process.stdout.write(
      `environment ${envId} was not stopped cleanly; removed what it left: ${removed.join("; ")}\n`,
    );
  rmSync(stateFile, { force: true });
}
