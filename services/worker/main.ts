/**
 * The worker's entry: learn who we are, connect to Redis, prepare the code cache and sandbox pool,
 * then long-poll the queue with as many messages in flight as there are free slots, heartbeating to
 * the controller all along.
 */
import { DeleteMessageBatchCommand, Message, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { awsClients } from "../common/aws";
import { Backoff, isAborted, sleep } from "../common/backoff";
import { Batcher } from "../common/batcher";
import { EnvSealer } from "../common/env-seal";
import { readInstanceIdentity } from "../common/instance-identity";
import { InvocationStore } from "../common/invocation-store";
import { exitWithParent } from "../common/lifecycle";
import { createLogger } from "../common/logger";
import { connectRedis, waitReady } from "../common/redis";
import { CodeCache } from "./code-cache";
import { loadConfig } from "./config";
import { runHeartbeats } from "./heartbeat";
import { SandboxPool } from "./sandbox/pool";
import { prepareSandbox } from "./sandbox/settings";
import { Slots } from "./slots";
import { processMessage } from "./task-processor";

async function main(): Promise<void> {
  const config = loadConfig();
  const identity = await readInstanceIdentity({ endpoint: config.metadataEndpoint });
  const workerId = config.workerId ?? `${identity.instanceId}-${randomBytes(3).toString("hex")}`;
  const log = createLogger("worker", config.logLevel, { instanceId: identity.instanceId, workerId });
  const sandbox = prepareSandbox({
    ...config.sandbox,
    name: `faas-worker-${process.pid}`,
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
  const deleter = new Batcher<string>({
    maxEntries: 10,
    maxInFlight: 2,
    flush: async (handles) => {
      const out = await aws.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: config.queueUrl,
          Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      return handles.map((_, i) => (failed.has(String(i)) ? new Error("delete refused") : undefined));
    },
  });

  const stopping = new AbortController();
  const slots = new Slots(config.slots);
  const running = new Set<Promise<void>>();

  const heartbeats = runHeartbeats(
    {
      controllerUrl: config.controllerUrl,
      workerSecret: config.workerSecret,
      intervalMs: config.heartbeatIntervalMs,
      snapshot: () => ({
        workerId,
        instanceId: identity.instanceId,
        slotsTotal: config.slots,
        slotsInUse: slots.inUse,
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
    log.info({ reason, running: running.size }, "worker stopping");
    stopping.abort();
    void Promise.race([Promise.allSettled(running), sleep(15_000)])
      .then(() => deleter.drain())
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

  const deps = {
    workerId,
    envSealer: new EnvSealer(config.envKey),
    sqs: aws.sqs,
    queueUrl: config.queueUrl,
    visibilityTimeoutS: config.visibilityTimeoutS,
    store,
    code,
    pool,
    deleteMessage: (receipt: string) =>
      deleter
        .add(receipt)
        .catch((err: unknown) => log.warn({ err: String(err) }, "could not delete a finished message")),
    log,
    signal: stopping.signal,
  };

  // Capped low: after an endpoint outage the workers should be back within a second.
  // Several pollers, each with its share of the slots: a slow queue answers each receive in tens of
  // milliseconds, so one receive at a time would cap a worker far below what its slots can run.
  const perPoller = Math.max(1, Math.ceil(config.slots / config.pollers));
  const poll = async () => {
    // Capped low: after an endpoint outage the workers should be back within a second.
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
    while (!isAborted(stopping.signal)) {
      const want = await slots.reserve(Math.min(10, perPoller), stopping.signal);
      if (want === 0) break;
      let messages: Message[] = [];
      const asked = performance.now();
      try {
        const out = await aws.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: config.queueUrl,
            MaxNumberOfMessages: want,
            WaitTimeSeconds: config.pollWaitS,
            VisibilityTimeout: config.visibilityTimeoutS,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: stopping.signal },
        );
        messages = out.Messages ?? [];
        log.debug({ want, got: messages.length, ms: Math.round(performance.now() - asked) }, "received");
        backoff.reset();
      } catch (err) {
        if (!isAborted(stopping.signal)) {
          const delay = backoff.next();
          log.warn({ err: String(err), retryInMs: delay }, "could not receive from the queue");
          await sleep(delay, stopping.signal);
        }
      } finally {
        slots.settle(want, messages.length);
      }
      for (const message of messages) {
        const job = processMessage(deps, message)
          .catch((err: unknown) => log.error({ err: String(err) }, "task processing failed"))
          .finally(() => {
            slots.release();
            running.delete(job);
          });
        running.add(job);
      }
    }
  };
  await Promise.all(Array.from({ length: config.pollers }, poll));
  await heartbeats;
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
