/**
 * `make bench`: starts a local cloud on free ports, deploys a trivial function and prints
 *  - the baseline: the same handler called in-process,
 *  - synchronous latency through the Elastic IP edge (p50/p95/p99) and the platform's overhead,
 *  - sustained asynchronous throughput over a fixed window, with accepted, completed and lost,
 *  - the queue's own ceiling: batches sent, received and deleted straight through the SDK.
 * Targets (README): sync p50 <= 15 ms, p99 <= 50 ms; async >= 200/s and >= 70% of the queue ceiling.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { Redis } from "ioredis";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { InvocationResult } from "../contracts";
import { RESULTS_CHANNEL } from "../services/common/invocation-store";
import { Environment } from "../emulator/environment";
import { freePort } from "../emulator/ports";
import { PlatformClient } from "../client/platform-client";
import { Component, cpuBetween, sampleCpu } from "./cpu";
import { waitForWorkers } from "../emulator/readiness";
import { notYet, waitFor } from "../emulator/wait";
import { sleep } from "../services/common/backoff";
import { backendFor, chooseRuntime, RUNTIME_REQUESTS } from "../emulator/runtime-choice";
import { printSandboxCost, sandboxCost } from "./sandbox";
import { ms, summarize } from "./stats";

const SOURCE = `exports.handler = async (event) => ({ ok: true, n: event.n });`;
const FUNCTION = "bench";

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("sync-requests", { type: "number", default: 500 })
    .option("async-seconds", { type: "number", default: 30 })
    .option("async-concurrency", { type: "number", default: 48, describe: "HTTP requests in flight" })
    .option("max-outstanding", {
      type: "number",
      default: 300,
      describe: "accepted but unfinished invocations allowed",
    })
    .option("workers", { type: "number", default: 2 })
    .option("slots", { type: "number", default: 8 })
    .option("ceiling-seconds", { type: "number", default: 10 })
    .option("send-concurrency", { type: "number", default: 2, describe: "FAAS_QUEUE_SEND_CONCURRENCY" })
    .option("pollers", { type: "number", default: 2, describe: "FAAS_WORKER_POLLERS" })
    .option("sandbox", {
      choices: ["bwrap", "insecure-process"] as const,
      default: "bwrap" as const,
      describe: "FAAS_SANDBOX of the workers: compare the platform's figures with and without isolation",
    })
    .option("sandbox-rounds", {
      type: "number",
      default: 30,
      describe: "cold starts per mechanism in the sandbox-cost section (warm invocations: 10x); 0 skips it",
    })
    .option("queue", {
      choices: ["local", "moto"] as const,
      default: "local" as const,
      describe: "the platform's SQS: the local queue service (docs/queue.md) or moto's, to compare",
    })
    .option("runtime", {
      choices: RUNTIME_REQUESTS,
      default: "process" as const,
      describe: "instances as processes (the default, for comparable figures) or containers",
    })
    .strict()
    .parseAsync();

  if (args["sandbox-rounds"] > 0)
    printSandboxCost(await sandboxCost(SOURCE, args["sandbox-rounds"], args["sandbox-rounds"] * 10));

  const apiKey = `bench-${randomBytes(16).toString("hex")}`;
  const [edgePort, motoPort, redisPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const logs: string[] = [];
  const choice = await chooseRuntime(args.runtime);
  process.stdout.write(`starting the local cloud on the ${choice.kind} runtime (${choice.reason})...\n`);
  const env = await Environment.start({
    edgePort,
    backend: backendFor(choice, { motoPort, redisPort, queue: args.queue }),
    workers: args.workers,
    workerSlots: args.slots,
    controllerEnv: { FAAS_QUEUE_SEND_CONCURRENCY: String(args["send-concurrency"]) },
    workerEnv: { FAAS_WORKER_POLLERS: String(args.pollers), FAAS_SANDBOX: args.sandbox },
    apiKey,
    workerSecret: randomBytes(24).toString("hex"),
    logLevel: "warn",
    onLog: (source, line) => logs.push(`${source} | ${line}`),
  });
  const stop = async () => {
    await env.stop();
  };
  process.on("SIGINT", () => void stop().then(() => process.exit(130)));
  try {
    await run(env, apiKey, args);
  } finally {
    await stop();
    const problems = logs.filter((l) => /"level":(50|60)/.test(l));
    if (problems.length > 0)
      process.stdout.write(`\n${problems.length} error lines in component logs, first: ${problems[0]}\n`);
  }
}

interface Args {
  "sync-requests": number;
  "async-seconds": number;
  "async-concurrency": number;
  "max-outstanding": number;
  "ceiling-seconds": number;
  workers: number;
  slots: number;
  "send-concurrency": number;
  pollers: number;
  sandbox: "bwrap" | "insecure-process";
  queue: "local" | "moto";
}

async function run(env: Environment, apiKey: string, args: Args): Promise<void> {
  const client = new PlatformClient(env.endpoint, apiKey);
  if (!(await waitForWorkers(env.endpoint, apiKey, args.workers, 30_000)).ready) {
    throw new Error("workers did not register");
  }
  await client.deploy(FUNCTION, { source: SOURCE });

  // Baseline: the handler itself, in this process.
  const handler = loadHandler(SOURCE);
  const baseline: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await handler({ n: i });
    baseline.push(performance.now() - t0);
  }
  const base = summarize(baseline);

  // Synchronous latency through the edge, one caller, warm processes.
  for (let i = 0; i < 50; i++) await invoke(client, i);
  const sync: number[] = [];
  let syncErrors = 0;
  for (let i = 0; i < args["sync-requests"]; i++) {
    const t0 = performance.now();
    const ok = await invoke(client, i);
    sync.push(performance.now() - t0);
    if (!ok) syncErrors++;
  }
  const s = summarize(sync);

  // Queue floor: what one synchronous invocation costs the queue alone — a send and the long poll
  // that returns it — straight through the SDK, on an empty queue.
  const floor = summarize(await queueFloor(env, 200));

  // Queue ceiling: the SDK straight at the emulator's SQS, batches of ten, queue kept short.
  const ceiling = await queueCeiling(env, args["ceiling-seconds"]);

  // Asynchronous throughput: results counted from the results channel, as the controller sees them;
  // and what each component of the local cloud spent on it, from /proc.
  const components = cloudComponents(env);
  const cpuBefore = sampleCpu(components);
  const a = await asyncThroughput(env, client, args);
  const cpu = cpuBetween(cpuBefore, sampleCpu(components));

  const line = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(44)} ${v}\n`);
  process.stdout.write(
    `\nbenchmark (${args.workers} workers x ${args.slots} slots, ${env.runtime.kind} runtime, FAAS_SANDBOX=${args.sandbox}, queue: ${args.queue})\n`,
  );
  line("baseline: handler in-process p50 / p99", `${ms(base.p50)} / ${ms(base.p99)}`);
  line(
    `sync through the edge (n=${s.n}) p50 / p95 / p99`,
    `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}   (errors: ${syncErrors})`,
  );
  line("queue floor: send + long-poll receive, p50 / p99", `${ms(floor.p50)} / ${ms(floor.p99)}`);
  line("platform overhead at p50 (sync - baseline)", ms(s.p50 - base.p50));
  line("  of which the queue floor", ms(floor.p50));
  line("queue ceiling: send+receive+delete, batches of 10", `${ceiling.toFixed(0)} messages/s`);
  line(
    `async over ${a.seconds.toFixed(1)} s: accepted / completed / lost`,
    `${a.accepted} / ${a.completed} / ${a.lost}   (rejected: ${a.rejected})`,
  );
  line("async sustained throughput (completed/s)", `${a.rate.toFixed(0)} invocations/s`);
  line("async as a share of the queue ceiling", `${((a.rate / ceiling) * 100).toFixed(0)} %`);
  const perInvocation = (ms: number) => (a.completed > 0 ? ms / a.completed : NaN);
  const total = [...cpu.values()].reduce((sum, ms) => sum + ms, 0);
  line(
    "CPU per async invocation, by component",
    [...cpu].map(([name, ms]) => `${name} ${perInvocation(ms).toFixed(2)}`).join(", ") + " ms",
  );
  line("CPU per async invocation, all together", `${perInvocation(total).toFixed(2)} ms   (target <= 8 ms)`);
  line("targets", "sync p50 <= 15 ms, p99 <= 50 ms; async >= 200/s and >= 70% of the ceiling, 0 lost");

  const figures: Record<string, number> = {
    syncP50Ms: s.p50,
    syncP99Ms: s.p99,
    queueFloorP50Ms: floor.p50,
    queueCeilingPerS: ceiling,
    asyncPerS: a.rate,
    asyncLost: a.lost,
    cpuPerInvocationMs: perInvocation(total),
    ...Object.fromEntries([...cpu].map(([name, ms]) => [`cpuPerInvocationMs.${name}`, perInvocation(ms)])),
  };
  compareWithPrevious(figures, {
    workers: args.workers,
    slots: args.slots,
    runtime: env.runtime.kind,
    queue: args.queue,
  });
}

/** The local cloud's processes on this host, by component, for CPU accounting. */
function cloudComponents(env: Environment): Component[] {
  const instances = (role: "controller" | "worker") => () =>
    env
      .list()
      .filter((i) => i.role === role && i.pid !== undefined)
      .map((i) => i.pid ?? 0);
  return [
    { name: "controller", pids: instances("controller") },
    { name: "workers", pids: instances("worker") },
    ...env.backend.hostProcesses().map((p) => ({ name: p.name, pids: () => [p.pid] })),
    // This process: the load generator and, on processes, the Elastic IP edge and the SQS endpoint.
    { name: "bench+edge", pids: () => [process.pid], ownOnly: true },
  ];
}

const RESULTS = path.resolve(__dirname, "..", "..", "bench-results", "latest.json");

/** Writes this run's figures, and prints how they moved since the previous run's file. */
function compareWithPrevious(figures: Record<string, number>, setup: Record<string, unknown>): void {
  let previous:
    { figures?: Record<string, number>; setup?: Record<string, unknown>; at?: string } | undefined;
  try {
    previous = JSON.parse(readFileSync(RESULTS, "utf8")) as typeof previous;
  } catch {
    previous = undefined;
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify({ at: new Date().toISOString(), setup, figures }, null, 2));
  if (previous?.figures === undefined) {
    process.stdout.write(`\n  figures written to ${RESULTS} (no previous run to compare with)\n`);
    return;
  }
  const same = JSON.stringify(previous.setup) === JSON.stringify(setup);
  process.stdout.write(
    `\n  change since the previous run (${previous.at ?? "?"}${same ? "" : ", another setup"}), ${RESULTS}\n`,
  );
  for (const [key, value] of Object.entries(figures)) {
    const before = previous.figures[key];
    if (before === undefined || !Number.isFinite(before) || before === 0) continue;
    const change = ((value - before) / before) * 100;
    process.stdout.write(
      `    ${key.padEnd(40)} ${before.toFixed(2)} -> ${value.toFixed(2)}  (${change >= 0 ? "+" : ""}${change.toFixed(0)} %)\n`,
    );
  }
}

function loadHandler(source: string): (event: unknown) => Promise<unknown> {
  const module = { exports: {} as { handler?: (e: unknown) => Promise<unknown> } };
  // The same source the platform runs, evaluated here once to call it directly as the baseline.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const evaluate = new Function("module", "exports", source) as (m: unknown, e: unknown) => void;
  evaluate(module, module.exports);
  const handler = module.exports.handler;
  if (handler === undefined) throw new Error("no handler");
  return handler;
}

/** One synchronous invocation; whether it answered 200 (a platform or function error counts as not). */
async function invoke(client: PlatformClient, n: number): Promise<boolean> {
  try {
    return (await client.invoke(FUNCTION, { n })).status === 200;
  } catch {
    return false;
  }
}

async function queueFloor(env: Environment, rounds: number): Promise<number[]> {
  const sqs = env.clients.sqs;
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-floor-${randomBytes(3).toString("hex")}` }),
  );
  const QueueUrl = queue.QueueUrl ?? "";
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const receiving = sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }),
    );
    // A hold, not a wait: the receive must be long-polling before the send starts the clock.
    await sleep(5);
    const t0 = performance.now();
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ n: i }) }));
    const got = await receiving;
    samples.push(performance.now() - t0);
    const entries = (got.Messages ?? []).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
    if (entries.length > 0) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries }));
  }
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  return samples;
}

async function queueCeiling(env: Environment, seconds: number): Promise<number> {
  const sqs = env.clients.sqs;
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-ceiling-${randomBytes(3).toString("hex")}` }),
  );
  const QueueUrl = queue.QueueUrl ?? "";
  const body = JSON.stringify({ n: 0, pad: "x".repeat(200) });
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  let inQueue = 0;
  const producer = async () => {
    while (Date.now() < deadline) {
      if (inQueue > 30) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      inQueue += 10;
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: body })),
        }),
      );
    }
  };
  const consumer = async () => {
    while (Date.now() < deadline) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) continue;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      inQueue -= messages.length;
      if (Date.now() < deadline) done += messages.length;
    }
  };
  const started = Date.now();
  await Promise.all([producer(), producer(), consumer(), consumer(), consumer(), consumer()]);
  const rate = done / ((Date.now() - started) / 1000);
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  return rate;
}

/** Counts a resource and lets callers wait for a free unit without polling. */
class Gate {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
  release(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

async function asyncThroughput(
  env: Environment,
  platform: PlatformClient,
  args: Args,
): Promise<{
  accepted: number;
  completed: number;
  lost: number;
  rejected: number;
  rate: number;
  seconds: number;
}> {
  const subscriber = new Redis(env.redisUrl);
  const pending = new Set<string>();
  const early = new Set<string>();
  const outstanding = new Gate(args["max-outstanding"]);
  let completed = 0;
  let lastCompletion = 0;
  const complete = () => {
    completed++;
    lastCompletion = Date.now();
    outstanding.give();
  };
  subscriber.on("message", (_channel: string, message: string) => {
    const { invocationId } = InvocationResult.pick({ invocationId: true }).parse(JSON.parse(message));
    if (pending.delete(invocationId)) complete();
    else early.add(invocationId);
  });
  await subscriber.subscribe(RESULTS_CHANNEL);

  let accepted = 0;
  let rejected = 0;
  const started = Date.now();
  const deadline = started + args["async-seconds"] * 1000;
  const stopTimer = setTimeout(() => outstanding.release(), args["async-seconds"] * 1000);
  const client = async () => {
    for (;;) {
      await outstanding.take();
      if (Date.now() >= deadline) return;
      const answer = await platform.invokeAsync(FUNCTION, { n: accepted }).catch(() => undefined);
      if (answer !== undefined) {
        accepted++;
        if (early.delete(answer.invocationId)) complete();
        else pending.add(answer.invocationId);
      } else {
        rejected++;
        outstanding.give();
      }
    }
  };
  await Promise.all(Array.from({ length: args["async-concurrency"] }, client));
  clearTimeout(stopTimer);
  await waitFor(
    "the accepted invocations to complete",
    () => pending.size === 0 || notYet(`${pending.size} pending`),
    {
      timeoutMs: 60_000,
      intervalMs: 50,
    },
  ).catch(() => undefined);
  subscriber.disconnect();
  // What became of an invocation that never reported: its record says where it stopped.
  for (const id of [...pending].slice(0, 5)) {
    const record = await platform.getInvocation(id).catch((err: unknown) => String(err));
    process.stdout.write(`  not completed: ${id} ${JSON.stringify(record).slice(0, 300)}\n`);
  }
  const seconds = (lastCompletion - started) / 1000;
  return { accepted, completed, lost: pending.size, rejected, rate: completed / seconds, seconds };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
