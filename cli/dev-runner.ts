/**
 * `faas dev up` in the foreground: start the local cloud, wait until the controller answers through
 * the Elastic IP and every worker has registered, print the status table, then stream every
 * component's logs until Ctrl-C or SIGTERM, which stops everything and frees every port.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { environmentStatus, startAdminServer } from "../emulator/admin-server";
import { Environment } from "../emulator/environment";
import { formatLine } from "../emulator/log-format";
import { PrerequisiteError } from "../emulator/ports";
import { waitForWorkers } from "../emulator/readiness";
import { AWS_TIMING, FAST_TIMING } from "../emulator/reconciler";
import { backendFor, chooseRuntime, RuntimeRequest } from "../emulator/runtime-choice";
import { renderStatus } from "../emulator/status-table";
import { CliConfig, DevState } from "./config";
import { loadOrCreateCredentials } from "./credentials";
import { UserError } from "./errors";

export interface DevOptions {
  workers: number;
  edgePort: number;
  motoPort: number;
  redisPort: number;
  awsEndpoint?: string;
  redisUrl?: string;
  queue: "local" | "moto";
  heartbeatIntervalMs: number;
  workerDeadAfterMs: number;
  jsonLogs: boolean;
  awsTiming: boolean;
  standby: boolean;
  tls: boolean;
  runtime: RuntimeRequest;
}

export async function runDev(config: CliConfig, options: DevOptions): Promise<void> {
  const credentials = loadOrCreateCredentials(config);
  const started = Date.now();
  const envId = `faas-${randomBytes(4).toString("hex")}`;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let env: Environment;
  let runtime: Awaited<ReturnType<typeof chooseRuntime>>;
  try {
    runtime = await chooseRuntime(options.runtime, { log: (line) => print(formatLine("runtime", line)) });
    print(formatLine("runtime", `${runtime.kind} runtime: ${runtime.reason}`));
    const backend = backendFor(runtime, {
      motoPort: options.motoPort,
      redisPort: options.redisPort,
      awsEndpoint: options.awsEndpoint,
      redisUrl: options.redisUrl,
      queue: options.queue,
    });
    // Written before anything starts: a `faas dev` killed with SIGKILL leaves its id here, and the next
    // `faas dev up` removes what it left by that label (emulator/leftovers.ts).
    writeState(config, {
      envId,
      pid: process.pid,
      endpoint: `http://127.0.0.1:${options.edgePort}`,
      adminUrl: "",
      adminToken: "",
      apiKey: credentials.apiKey,
      ready: false,
      startedAt: started,
    });
    env = await Environment.start({
      backend,
      envId,
      edgePort: options.edgePort,
      workers: options.workers,
      standby: options.standby,
      tls: options.tls,
      apiKey: credentials.apiKey,
      workerSecret: credentials.workerSecret,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      workerDeadAfterMs: options.workerDeadAfterMs,
      scaling: options.awsTiming ? AWS_TIMING : FAST_TIMING,
      onActivity: (a) => {
        if (a.statusCode !== "InProgress")
          print(formatLine("autoscaling", `${a.autoScalingGroupName}: ${a.description} (${a.statusCode})`));
      },
      onLog: (source, line) => print(options.jsonLogs ? `${source} | ${line}` : formatLine(source, line)),
    });
  } catch (err) {
    // Environment.start stopped what it had started; nothing is left to find.
    rmSync(config.stateFile, { force: true });
    if (err instanceof PrerequisiteError) throw new UserError(err.message);
    throw err;
  }
  // Containers take longer to start than processes (image layers, two containers per instance).
  const bootBudget = env.bootAllowanceMs;

  let stopping = false;
  const admin = await startAdminServer(env);
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    print(`\n${reason}: stopping environment ${env.envId}...`);
    rmSync(config.stateFile, { force: true });
    await admin.close();
    await env.stop();
    print("stopped; every port is free.");
  };
  const onSignal = (signal: string) => void stop(signal).then(() => process.exit(0));
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGHUP", () => onSignal("SIGHUP"));

  const readyWithin = (options.awsTiming ? 90_000 : 30_000) + bootBudget;
  const workers = (
    await waitForWorkers(env.endpoint, credentials.apiKey, options.workers, readyWithin, env.tlsFingerprint)
  ).last;
  if (workers === undefined || workers.workers.length < options.workers) {
    print(renderStatus(environmentStatus(env), workers));
    await stop(`not ready within ${readyWithin / 1000} s`);
    throw new UserError(
      `the environment did not become ready within ${readyWithin / 1000} s (${workers === undefined ? "the controller never answered through the Elastic IP" : `${workers.workers.length} of ${options.workers} workers registered`}); the logs above say why`,
    );
  }
  const state: DevState = {
    envId: env.envId,
    pid: process.pid,
    endpoint: env.endpoint,
    adminUrl: admin.url,
    adminToken: admin.token,
    apiKey: credentials.apiKey,
    ready: true,
    startedAt: started,
    ...(env.tlsFingerprint === undefined ? {} : { tlsFingerprint: env.tlsFingerprint }),
  };
  writeState(config, state);
  print("");
  print(renderStatus(environmentStatus(env), workers));
  if (env.tlsFingerprint !== undefined)
    print(
      `\nthe API serves HTTPS with a self-signed certificate, SHA-256 ${env.tlsFingerprint}: bin/faas pins it (FAAS_TLS_FINGERPRINT for other clients)`,
    );
  print(
    `\nready in ${((Date.now() - started) / 1000).toFixed(1)} s. Try: bin/faas fn deploy examples/functions/hello --name hello`,
  );
  print("Ctrl-C stops everything. Logs follow.\n");
}

function writeState(config: CliConfig, state: DevState): void {
  mkdirSync(path.dirname(config.stateFile), { recursive: true, mode: 0o700 });
  writeFileSync(config.stateFile, JSON.stringify(state), { mode: 0o600 });
}
