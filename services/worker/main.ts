/**
 * The worker's entry: learn who we are, connect to Redis, prepare the code cache and sandbox pool,
 * then long-poll the queue with as many messages in flight as there are free slots, heartbeating to
 * the controller all along. Wiring only: the loop is in poller.ts, one message's life in task-processor.ts.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { awsClients } from "../common/aws";
import { sleep } from "../common/backoff";
import { EnvSealer } from "../common/env-seal";
import { readInstanceIdentity } from "../common/instance-identity";
import { InvocationStore } from "../common/invocation-store";
import { exitWithParent } from "../common/lifecycle";
import { createLogger } from "../common/logger";
import { connectRedis, waitReady } from "../common/redis";
import { CodeCache } from "./code-cache";
import { loadConfig } from "./config";
import { runHeartbeats } from "./heartbeat";
import { Poller } from "./poller";
import { SandboxPool } from "./sandbox/pool";
import { prepareSandbox } from "./sandbox/settings";
import { SqsTaskSource } from "./sqs-task-source";
import { processMessage } from "./task-processor";

async function main(): Promise<void> {
  const config = loadConfig();
  const identity = await readInstanceIdentity({ endpoint: config.metadataEndpoint });
  const workerId = config.workerId ?? `${identity.instanceId}-${randomBytes(3).toString("hex")}`;
  const log = createLogger("worker", config.logLevel, { instanceId: identity.instanceId, workerId });
  const sandbox = prepareSandbox({
    ...config.sandbox,
    name: `faas-worker-${process.pid}`,
    slots: config.slots,
    runtimeCopy: config.runtimeDir,
  });
  log.info({ slots: config.slots, sandbox: sandbox.guarantees }, "worker booting");

  const aws = awsClients();
  const redis = connectRedis(config.redisUrl, log, { failFast: false, name: "worker" });
  await waitReady(redis, log, "results");
  const store = new InvocationStore(redis, config.resultTtlSeconds);
  const code = new CodeCache(aws.s3, config.bucket, config.codeDir, config.maxUnpackedCodeBytes);
  await code.init();
  const pool = new SandboxPool({
    idleMs: config.warmIdleMs,
    maxIdle: config.maxWarmProcesses,
    settings: sandbox,
  });
  const source = new SqsTaskSource(aws.sqs, aws.sqsWire, {
    queueUrl: config.queueUrl,
    visibilityTimeoutS: config.visibilityTimeoutS,
  });

  const stopping = new AbortController();
  const deps = {
    workerId,
    envSealer: new EnvSealer(config.envKey),
    source,
    visibilityTimeoutS: config.visibilityTimeoutS,
    store,
    code,
    pool,
    log,
    signal: stopping.signal,
  };
  const poller = new Poller({
    source,
    slots: config.slots,
    pollers: config.pollers,
    waitSeconds: config.pollWaitS,
    handle: (message) => processMessage(deps, message),
    log,
    signal: stopping.signal,
  });

  const heartbeats = runHeartbeats(
    {
      controllerUrl: config.controllerUrl,
      workerSecret: config.workerSecret,
      intervalMs: config.heartbeatIntervalMs,
      snapshot: () => ({
        workerId,
        instanceId: identity.instanceId,
        slotsTotal: config.slots,
        slotsInUse: poller.slotsInUse,
        coldStarts: pool.coldStarts,
        warmStarts: pool.warmStarts,
        startedAt: Date.now() - Math.round(process.uptime() * 1000),
        sandbox: sandbox.guarantees,
      }),
    },
    log,
    stopping.signal,
  );

  const shutdown = (reason: string) => {
    if (stopping.signal.aborted) return;
    log.info({ reason, running: poller.inFlight }, "worker stopping");
    stopping.abort();
    void Promise.race([poller.settled(), sleep(15_000)])
      .then(() => source.drain())
      .finally(() => {
        pool.closeAll();
        rmSync(config.codeDir, { recursive: true, force: true });
        rmSync(config.runtimeDir, { recursive: true, force: true });
        redis.disconnect();
        void (sandbox.cgroups?.close() ?? Promise.resolve()).finally(() => process.exit(0));
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  exitWithParent(() => shutdown("parent exited"));

  await poller.run();
  await heartbeats;
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
