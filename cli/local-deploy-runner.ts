/**
 * `faas local-deploy up` in the foreground: boot the Terraform deployment named `name` on the local
 * cloud (emulator/local-deploy/deployed-stack.ts), wait until its controller answers through the
 * deployment's own edge and its workers have registered, write the state file, then stream the
 * instances' logs until SIGTERM or Ctrl-C, which stops every process it started.
 */
import { rmSync } from "node:fs";
import { formatLine } from "../emulator/log-format";
import { DeployedStack } from "../emulator/local-deploy/deployed-stack";
import { LocalDeployError } from "../emulator/local-deploy/errors";
import { PrerequisiteError } from "../emulator/ports";
import { waitForWorkers } from "../emulator/readiness";
import { UserError } from "./errors";
import { writeLocalDeployState } from "./local-deploy-state";

export interface LocalDeployOptions {
  name: string;
  awsEndpoint: string;
  edgePort: number;
  stateFile: string;
  readyWithinMs: number;
}

export async function runLocalDeploy(options: LocalDeployOptions): Promise<void> {
  const started = Date.now();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let stack: DeployedStack;
  try {
    stack = await DeployedStack.start({
      name: options.name,
      awsEndpoint: options.awsEndpoint,
      edgePort: options.edgePort,
      onActivity: (a) => {
        if (a.statusCode !== "InProgress")
          print(formatLine("autoscaling", `${a.autoScalingGroupName}: ${a.description} (${a.statusCode})`));
      },
      onLog: (source, line) => print(formatLine(source, line)),
    });
  } catch (err) {
    if (err instanceof LocalDeployError || err instanceof PrerequisiteError) throw new UserError(err.message);
    throw err;
  }
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    print(`${reason}: stopping the deployment ${options.name} (${stack.envId})...`);
    rmSync(options.stateFile, { force: true });
    await stack.stop();
    print("stopped.");
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(signal, () => void stop(signal).then(() => process.exit(0)));

  const desired = stack.workersDesired;
  // Through the edge, pinning the certificate the deployment serves (tls_mode = self-signed).
  const { ready, last } = await waitForWorkers(
    stack.endpoint,
    stack.apiKey,
    desired,
    options.readyWithinMs,
    stack.tlsFingerprint,
  );
  if (!ready) {
    await stop("not ready");
    throw new UserError(
      `the deployment ${options.name} did not serve within ${options.readyWithinMs / 1000} s (${last === undefined ? "its controller never answered through the Elastic IP" : `${last.workers.length} of ${desired} workers registered`}); the logs above say why`,
    );
  }
  writeLocalDeployState(options.stateFile, {
    envId: stack.envId,
    pid: process.pid,
    name: options.name,
    endpoint: stack.endpoint,
    apiKey: stack.apiKey,
    ...(stack.tlsFingerprint === undefined ? {} : { tlsFingerprint: stack.tlsFingerprint }),
    ready: true,
    startedAt: started,
    readyMs: Date.now() - started,
  });
  const rows = stack
    .list()
    .map((i) => `  ${i.role.padEnd(10)} ${i.instanceId}  pid ${i.pid ?? "-"}  ${i.state}`)
    .join("\n");
  const pin = stack.tlsFingerprint === undefined ? "" : `, certificate SHA-256 ${stack.tlsFingerprint}`;
  print(
    `deployment ${options.name} serves at ${stack.endpoint} (its Elastic IP, held by ${stack.elasticIpHolder ?? "?"}${pin}), ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n${rows}`,
  );
}
