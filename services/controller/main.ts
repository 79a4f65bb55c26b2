/**
 * The controller's entry: read config, learn who we are from instance metadata, connect Redis, serve
 * HTTP, then claim the Elastic IP so traffic arrives only once everything is ready — at once
 * (FAAS_EIP_MODE=boot, one controller), or while holding the controller lease (lease, beside a
 * standby: controller-role.ts). On SIGTERM it drains: see `shutdown`.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Express } from "express";
import { loadConfig } from "./config";
import { awsClients } from "../common/aws";
import { EnvSealer } from "../common/env-seal";
import { readInstanceIdentity } from "../common/instance-identity";
import { InvocationStore } from "../common/invocation-store";
import { createLogger } from "../common/logger";
import { connectRedis, waitReady } from "../common/redis";
import { AwsFunctionStore } from "./aws-function-store";
import { DeadLetterConsumer } from "./dead-letter-consumer";
import { ActiveLease } from "./active-lease";
import { ControllerRole } from "./controller-role";
import { claimElasticIp, holdsElasticIp } from "./elastic-ip";
import { AppDeps, ServingState } from "./http/deps";
import { createApp } from "./http/app";
import { InflightTracker } from "./inflight";
import { InvocationRecords } from "./invocation-records";
import { KnownFunctions } from "./known-functions";
import { createMetrics } from "./metrics";
import { ResultMetrics } from "./result-metrics";
import { ResultWaiter } from "./result-waiter";
import { SqsTaskQueue } from "./sqs-task-queue";
import { WorkerRegistry } from "./worker-registry";
import { exitWithParent } from "../common/lifecycle";
import { sleep } from "../common/backoff";

async function main(): Promise<void> {
  const config = loadConfig();
  const bootLog = createLogger("controller", config.logLevel);
  const identity = await readInstanceIdentity({ endpoint: config.metadataEndpoint });
  const log = bootLog.child({ instanceId: identity.instanceId });
  log.info({ availabilityZone: identity.availabilityZone }, "controller booting");

  const aws = awsClients();
  const metrics = createMetrics();
  const redis = connectRedis(config.redisUrl, log, { failFast: true, name: "controller" });
  const subscriber = connectRedis(config.redisUrl, log, { failFast: false, name: "controller-sub" });
  await waitReady(redis, log, "commands");
  await waitReady(subscriber, log, "results subscription");

  const invocations = new InvocationStore(redis, config.resultTtlSeconds);
  const functions = new AwsFunctionStore(aws.s3, aws.dynamo, config.bucket, config.table);
  const inflight = new InflightTracker();
  const knownFunctions = new KnownFunctions(functions, log);
  const resultMetrics = new ResultMetrics(inflight, knownFunctions, metrics, log);
  const results = new ResultWaiter(
    subscriber,
    invocations,
    log,
    (result) => resultMetrics.observe(result),
    () => metrics.resultsInvalid.inc(),
  );
  await results.start();
  const queue = new SqsTaskQueue(
    aws.sqs,
    aws.sqsWire,
    {
      queueUrl: config.queueUrl,
      maxInFlightBatches: config.queueSendConcurrency,
      onSendLatency: (s) => metrics.queueSend.observe(s),
    },
    log,
  );
  const registry = new WorkerRegistry(
    { heartbeatIntervalMs: config.heartbeatIntervalMs, deadAfterMs: config.workerDeadAfterMs },
    log,
    (n) => metrics.workers.set(n),
  );
  registry.start();

  const stopping = new AbortController();
  const claimOptions = {
    instanceId: identity.instanceId,
    allocationId: config.eip.allocationId,
    tag: config.eip.tag,
  };
  const role =
    config.eip.claim && config.eip.mode === "lease"
      ? new ControllerRole({
          lease: new ActiveLease(redis, identity.instanceId, config.lease.leaseMs),
          renewMs: config.lease.renewMs,
          claim: async (signal) => {
            await claimElasticIp(aws.ec2, { ...claimOptions, signal }, log);
          },
          holdsAddress: () => holdsElasticIp(aws.ec2, claimOptions),
          verifyEveryMs: 5000,
          log,
        })
      : undefined;
  let draining = false;
  const serving = (): ServingState => {
    if (role === undefined) return draining ? "draining" : "serving";
    // A lease holder that is stopping serves until the address has moved to the new holder.
    return role.role === "standby"
      ? "standby"
      : role.role === "draining" && draining
        ? "draining"
        : "serving";
  };

  const deps: AppDeps = {
    instanceId: () => identity.instanceId,
    serving,
    apiKey: config.apiKey,
    workerSecret: config.workerSecret,
    envSealer: new EnvSealer(config.envKey),
    functions,
    queue,
    invocations: new InvocationRecords(invocations, redis),
    results,
    inflight,
    knownFunctions,
    registry,
    metrics,
    log,
    limits: {
      maxEventBytes: config.maxEventBytes,
      maxCodeBytes: config.maxCodeBytes,
      maxUnpackedCodeBytes: config.maxUnpackedCodeBytes,
      maxQueueDepth: config.maxQueueDepth,
      maxSyncWaiters: config.maxSyncWaiters,
    },
    syncWaitExtraMs: config.syncWaitExtraMs,
    inflightGraceMs: config.inflightGraceMs,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    idempotency: { pendingStaleMs: config.idempotencyPendingStaleMs, pollMs: 20 },
  };
  // With FAAS_PRIVATE_PORT, the workers' heartbeat is served only on that port, which only the
  // workers reach (their security group; locally, the private edge), not on the public API.
  const split = config.privatePort !== 0;
  const tls =
    config.tls === undefined
      ? undefined
      : { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) };
  const server = await listen(createApp(deps, split ? "public" : "all"), config.port, config.host, tls);
  const privateServer = split
    ? await listen(createApp(deps, "private"), config.privatePort, config.privateHost)
    : undefined;
  log.info(
    { port: config.port, https: tls !== undefined, privatePort: split ? config.privatePort : undefined },
    "controller listening",
  );

  /**
   * A planned stop drains. With a standby: the lease goes to it at once and this controller serves
   * until the address has moved (bounded by FAAS_DRAIN_MS). Alone: new requests get 503 with
   * Retry-After. Either way, the synchronous callers already waiting get their results (bounded), and
   * only then does the process exit. Accepted invocations never depend on it: they are queued.
   */
  const shutdown = async (signal: string) => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    const started = Date.now();
    const left = () => Math.max(0, config.drainMs - (Date.now() - started));
    log.info({ signal, role: role?.role, waiting: results.size }, "controller stopping: draining");
    if (role !== undefined) {
      const wasActive = role.role === "active";
      await role.handOver();
      // The standby takes the lease at its next tick and claims the address; if none does in time
      // (there is none, or it is stopping too), this controller drains as if alone.
      const handOverMs = Math.min(left(), 2 * config.lease.renewMs + 1500);
      if (wasActive)
        await waitFor(
          async () => !(await holdsElasticIp(aws.ec2, claimOptions).catch(() => true)),
          handOverMs,
        );
    }
    draining = true;
    await waitFor(() => Promise.resolve(results.size === 0), left());
    log.info({ drainedMs: Date.now() - started, stillWaiting: results.size }, "controller drained");
    registry.stop();
    for (const s of [server, privateServer]) {
      s?.close();
      s?.closeAllConnections();
    }
    results.close();
    // The accepted marks of the last sends go out before Redis is let go.
    void queue
      .close()
      .then(() => invocations.flushMarks())
      .catch(() => undefined)
      .finally(() => {
        redis.disconnect();
        process.exit(0);
      });
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  exitWithParent(() => void shutdown("parent exited"));

  const { queueUrl: dlqUrl, ...dlqOptions } = config.deadLetters;
  if (dlqUrl !== undefined) {
    const deadLetters = new DeadLetterConsumer(
      aws.sqs,
      invocations,
      { queueUrl: dlqUrl, ...dlqOptions },
      log,
      (kind) => metrics.deadLetters.inc({ kind }),
    );
    void deadLetters
      .run(stopping.signal)
      .catch((err: unknown) => log.error({ err: String(err) }, "the dead-letter consumer stopped"));
  }

  if (role !== undefined) {
    void role.run(stopping.signal);
  } else if (config.eip.claim) {
    await claimElasticIp(aws.ec2, { ...claimOptions, signal: stopping.signal }, log).catch((err: unknown) =>
      log.error({ err: String(err) }, "gave up claiming the Elastic IP"),
    );
  }
}

/** An HTTP(S) server for `app` on host:port, once it listens (a port in use is an error). */
async function listen(
  app: Express,
  port: number,
  host: string,
  tls?: { cert: Buffer; key: Buffer },
): Promise<Server> {
  const server = tls === undefined ? createServer(app) : createHttpsServer(tls, app);
  server.listen(port, host);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  return server;
}

/** Polls `done` every 50 ms until it holds or `ms` passed. */
async function waitFor(done: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !(await done())) await sleep(50);
}

main().catch((err: unknown) => {
  process.stderr.write(`controller failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
