/**
 * The controller's entry: read config, learn who we are from instance metadata, connect Redis, serve
 * HTTP, then claim the Elastic IP so traffic arrives only once everything is ready.
 */
import { loadConfig } from "./config";
import { awsClients } from "../common/aws";
import { EnvSealer } from "../common/env-seal";
import { readInstanceIdentity } from "../common/instance-identity";
import { InvocationStore } from "../common/invocation-store";
import { createLogger } from "../common/logger";
import { connectRedis, waitReady } from "../common/redis";
import { AwsFunctionStore } from "./aws-function-store";
import { DeadLetterConsumer } from "./dead-letter-consumer";
import { claimElasticIp } from "./elastic-ip";
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

  const app = createApp({
    instanceId: () => identity.instanceId,
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
  });
  const server = app.listen(config.port, config.host);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  log.info({ port: config.port }, "controller listening");

  const stopping = new AbortController();
  const shutdown = (signal: string) => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    log.info({ signal }, "controller stopping");
    registry.stop();
    server.close();
    server.closeAllConnections();
    results.close();
    void queue.close().finally(() => {
      redis.disconnect();
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  exitWithParent(() => shutdown("parent exited"));

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

  if (config.eip.claim) {
    await claimElasticIp(
      aws.ec2,
      {
        instanceId: identity.instanceId,
        allocationId: config.eip.allocationId,
        tag: config.eip.tag,
        signal: stopping.signal,
      },
      log,
    ).catch((err: unknown) => log.error({ err: String(err) }, "gave up claiming the Elastic IP"));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`controller failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
