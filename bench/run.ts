/**
 * `make bench`: starts a local cloud on free ports, deploys a trivial function and prints
 *  - the baseline: the same handler called in-process,
 *  - synchronous latency through the Elastic IP edge (p50/p95/p99), the platform's overhead and each
 *    component's CPU per call, beside the tail the machine itself gives a fixed piece of CPU work in
 *    the same run (steadiness.ts),
 *  - sustained asynchronous throughput over a fixed window, with accepted, completed and lost,
 *  - the queue's own ceiling: batches sent, received and deleted straight through the SDK,
 *  - a burst: 3 000 asynchronous invocations at once, 64 requests in flight, until all complete,
 *  - cold starts (first invocation of a new version), split into code fetch, unpack and sandbox init,
 *    on a fresh cloud whose worker logs each invocation (cold-start.ts),
 *  - the scaling curve: throughput of a 50 ms function with 1, 2 and 4 workers, a fresh cloud each
 *    (curve.ts; `--no-curve` skips it).
 * Targets (README, issue 10): sync p50 <= 15 ms, p99 <= 50 ms; async >= 200/s and >= 70% of the queue ceiling;
 * burst >= 200/s completed, 0 lost; cold start init <= 200 ms (Lambda's Node.js: 100-200 ms).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { Environment } from "../emulator/environment";
import { PlatformClient } from "../client/platform-client";
import { cpuBetween, sampleCpu } from "./cpu";
import { sleep } from "../services/common/backoff";
import { SqsWire } from "../services/common/sqs-wire";
import { chooseRuntime, RUNTIME_REQUESTS } from "../emulator/runtime-choice";
import { Cloud, CloudSettings, cloudComponents, startCloud } from "./cloud";
import { coldStartSplit } from "./cold-start";
import { scalingCurve, SLEEP_MS } from "./curve";
import { asyncLoad } from "./load";
import { printSandboxCost, sandboxCost } from "./sandbox";
import { ms, summarize } from "./stats";
import {
  cpuSteadiness,
  describe as describeSteadiness,
  formatMachineTime,
  formatSteadiness,
  machineTimeBetween,
  sampleMachineTime,
} from "./steadiness";

const SOURCE = `exports.handler = async (event) => ({ ok: true, n: event.n });`;
const FUNCTION = "bench";
/** Each of the two spells of the machine's steadiness around the synchronous calls. */
const STEADINESS_SECONDS = 2;

async function main(): Promise<void> {
  const startedAt = performance.now();
  const args = await yargs(hideBin(process.argv))
    .option("sync-requests", { type: "number", default: 1000 })
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
    .option("burst", {
      type: "number",
      default: 3000,
      describe: "asynchronous invocations fired at once after the sustained window; 0 skips the burst",
    })
    .option("burst-concurrency", {
      type: "number",
      default: 64,
      describe: "HTTP requests in flight in the burst",
    })
    .option("cold-versions", {
      type: "number",
      default: 20,
      describe: "cold starts measured, one new version each, on a fresh one-worker cloud; 0 skips them",
    })
    .option("curve", {
      type: "boolean",
      default: true,
      describe: `the scaling curve: a ${SLEEP_MS} ms function on fresh clouds of --curve-workers workers`,
    })
    .option("curve-workers", {
      type: "string",
      default: "1,2,4",
      describe: "the curve's points, comma-separated",
    })
    .option("curve-seconds", {
      type: "number",
      default: 10,
      describe: "the window of each point of the curve",
    })
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
  const curveWorkers = args["curve-workers"].split(",").map((w) => {
    const n = Number(w);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--curve-workers: '${w}' is not a number of workers`);
    return n;
  });

  if (args["sandbox-rounds"] > 0)
    printSandboxCost(await sandboxCost(SOURCE, args["sandbox-rounds"], args["sandbox-rounds"] * 10));

  const choice = await chooseRuntime(args.runtime);
  const settings: CloudSettings = {
    runtime: choice,
    queue: args.queue,
    sandbox: args.sandbox,
    slots: args.slots,
    pollers: args.pollers,
    sendConcurrency: args["send-concurrency"],
  };
  process.stdout.write(`starting the local cloud on the ${choice.kind} runtime (${choice.reason})...\n`);
  const figures: Record<string, number> = {};
  let current: Cloud | undefined;
  process.on("SIGINT", () => void (current?.env.stop() ?? Promise.resolve()).then(() => process.exit(130)));
  {
    await using cloud = (current = await startCloud(settings, { workers: args.workers }));
    Object.assign(figures, await run(cloud.env, cloud.apiKey, args));
  }
  if (args["cold-versions"] > 0) {
    process.stdout.write(
      `\ncold starts: a fresh one-worker cloud, ${args["cold-versions"]} new versions...\n`,
    );
    await using cloud = (current = await startCloud(settings, { workers: 1, workerLogLevel: "info" }));
    Object.assign(figures, printColdStarts(await coldStartSplit(cloud, args["cold-versions"])));
  }
  if (args.curve) {
    process.stdout.write(`\nscaling curve (${args["curve-seconds"]} s per point, a fresh cloud each):\n`);
    const points = await scalingCurve(settings, curveWorkers, {
      seconds: args["curve-seconds"],
      concurrency: args["async-concurrency"],
      maxOutstanding: args["max-outstanding"],
    });
    Object.assign(figures, printCurve(points));
  }
  current = undefined;
  process.stdout.write(`\n  the benchmark took ${((performance.now() - startedAt) / 1000).toFixed(0)} s\n`);
  compareWithPrevious(figures, {
    workers: args.workers,
    slots: args.slots,
    runtime: choice.kind,
    queue: args.queue,
  });
}

interface Args {
  "sync-requests": number;
  "async-seconds": number;
  "async-concurrency": number;
  "max-outstanding": number;
  "ceiling-seconds": number;
  burst: number;
  "burst-concurrency": number;
  workers: number;
  slots: number;
  "send-concurrency": number;
  pollers: number;
  sandbox: "bwrap" | "insecure-process";
  queue: "local" | "moto";
}

const line = (k: string, v: string) => process.stdout.write(`  ${k.padEnd(44)} ${v}\n`);
const verdict = (met: boolean) => (met ? "met" : "NOT met");

async function run(env: Environment, apiKey: string, args: Args): Promise<Record<string, number>> {
  const client = new PlatformClient(env.endpoint, apiKey);
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

  // Synchronous latency through the edge, one caller, warm processes and JIT-compiled paths; between
  // two spells of the machine's own steadiness (steadiness.ts), so that its tail is measured as close
  // as can be to the calls' without loading the machine while they run.
  for (let i = 0; i < 300; i++) await invoke(client, i);
  const steadyBefore = await cpuSteadiness(STEADINESS_SECONDS);
  const components = cloudComponents(env);
  const syncCpuBefore = sampleCpu(components);
  const syncMachineBefore = sampleMachineTime();
  const sync: number[] = [];
  let syncErrors = 0;
  for (let i = 0; i < args["sync-requests"]; i++) {
    const t0 = performance.now();
    const ok = await invoke(client, i);
    sync.push(performance.now() - t0);
    if (!ok) syncErrors++;
  }
  const s = summarize(sync);
  const syncCpu = cpuBetween(syncCpuBefore, sampleCpu(components));
  const syncMachine = machineTimeBetween(syncMachineBefore, sampleMachineTime());
  const steadyAfter = await cpuSteadiness(STEADINESS_SECONDS);
  const machine = describeSteadiness([...steadyBefore.samples, ...steadyAfter.samples]);

  // Queue floor: what one synchronous invocation costs the queue alone, as the platform pays it (the
  // target's) and as an SDK user straight at the queue would.
  const floor = summarize(await queueFloor(env, 200, "platform"));
  const sdkFloor = summarize(await queueFloor(env, 200, "sdk"));

  // Queue ceiling: the SDK straight at the emulator's SQS, batches of ten, queue kept short.
  const ceiling = await queueCeiling(env, args["ceiling-seconds"]);

  // Asynchronous throughput: results counted from the results channel, as the controller sees them;
  // and what each component of the local cloud spent on it, from /proc.
  const cpuBefore = sampleCpu(components);
  const asyncMachineBefore = sampleMachineTime();
  const a = await asyncLoad(env.redisUrl, client, {
    function: FUNCTION,
    concurrency: args["async-concurrency"],
    maxOutstanding: args["max-outstanding"],
    seconds: args["async-seconds"],
  });
  const cpu = cpuBetween(cpuBefore, sampleCpu(components));
  const asyncMachine = machineTimeBetween(asyncMachineBefore, sampleMachineTime());

  // Burst: everything at once, nothing holding the clients back but the requests in flight.
  const b =
    args.burst > 0
      ? await asyncLoad(env.redisUrl, client, {
          function: FUNCTION,
          concurrency: args["burst-concurrency"],
          maxOutstanding: args.burst,
          count: args.burst,
          drainTimeoutMs: 120_000,
        })
      : undefined;

  process.stdout.write(
    `\nbenchmark (${args.workers} workers x ${args.slots} slots, ${env.runtime.kind} runtime, FAAS_SANDBOX=${args.sandbox}, queue: ${args.queue})\n`,
  );
  line("baseline: handler in-process p50 / p99", `${ms(base.p50)} / ${ms(base.p99)}`);
  line(
    `sync through the edge (n=${s.n}) p50 / p95 / p99`,
    `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}   (errors: ${syncErrors})`,
  );
  line(
    "queue floor: send + long-poll receive, p50 / p99",
    `${ms(floor.p50)} / ${ms(floor.p99)}   (the instances' client, through their SQS endpoint)`,
  );
  line("queue floor, the SDK straight at the queue", `${ms(sdkFloor.p50)} / ${ms(sdkFloor.p99)}`);
  line("machine: fixed CPU work, p50 / p99", formatSteadiness(machine));
  line("machine: its CPU time during the sync calls", formatMachineTime(syncMachine));
  // A synchronous call pays every fixed cost alone (no batch to share a receive, a delete, a wake-up):
  // what each component spends on one says where its latency beyond the queue's floor goes.
  const perSyncCall = (ms: number) => (s.n > 0 ? ms / s.n : NaN);
  const syncCpuTotal = [...syncCpu.values()].reduce((sum, ms) => sum + ms, 0);
  line(
    "CPU per sync call, by component",
    [...syncCpu].map(([name, ms]) => `${name} ${perSyncCall(ms).toFixed(2)}`).join(", ") + " ms",
  );
  line("CPU per sync call, all together", `${perSyncCall(syncCpuTotal).toFixed(2)} ms`);
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
  line("machine: its CPU time during the async load", formatMachineTime(asyncMachine));
  line("CPU per async invocation, all together", `${perInvocation(total).toFixed(2)} ms   (target <= 8 ms)`);
  // The targets of issue 10. With the local queue its ceiling is far above the platform's rate, so the
  // share of the ceiling says nothing any more: the CPU budget is the measure.
  const met = (ok: boolean) => (ok ? "met" : "NOT met");
  line(
    "target: sync p50 <= queue floor + 3 ms",
    `${ms(s.p50)} <= ${ms(floor.p50 + 3)}: ${met(s.p50 <= floor.p50 + 3)}`,
  );
  line(
    "target: sync p99 <= 2 x p50",
    `${ms(s.p99)} <= ${ms(2 * s.p50)}: ${met(s.p99 <= 2 * s.p50)}   ` +
      `(sync ${(s.p99 / s.p50).toFixed(1)} x; the machine's fixed work ${(machine.p99 / machine.p50).toFixed(1)} x)`,
  );
  line(
    "target: async >= 200/s, 0 lost",
    `${a.rate.toFixed(0)}/s, ${a.lost} lost: ${met(a.rate >= 200 && a.lost === 0)}`,
  );
  line(
    "target: CPU <= 8 ms per async invocation",
    `${perInvocation(total).toFixed(2)} ms: ${met(perInvocation(total) <= 8)}`,
  );
  const figures: Record<string, number> = {
    syncP50Ms: s.p50,
    syncP99Ms: s.p99,
    queueFloorP50Ms: floor.p50,
    queueFloorSdkP50Ms: sdkFloor.p50,
    syncCpuPerCallMs: perSyncCall(syncCpuTotal),
    ...Object.fromEntries([...syncCpu].map(([name, ms]) => [`syncCpuPerCallMs.${name}`, perSyncCall(ms)])),
    machineWorkP50Ms: machine.p50,
    machineWorkP99OverP50: machine.p99 / machine.p50,
    machineSlowedShare: machine.slowedShare,
    ...(syncMachine !== undefined ? { machineStealShareSync: syncMachine.steal } : {}),
    ...(asyncMachine !== undefined ? { machineStealShareAsync: asyncMachine.steal } : {}),
    queueCeilingPerS: ceiling,
    asyncPerS: a.rate,
    asyncLost: a.lost,
    cpuPerInvocationMs: perInvocation(total),
    ...Object.fromEntries([...cpu].map(([name, ms]) => [`cpuPerInvocationMs.${name}`, perInvocation(ms)])),
  };
  if (b !== undefined) {
    const accept = summarize(b.acceptMs);
    process.stdout.write(
      `\n  burst: ${args.burst} async invocations at once, ${args["burst-concurrency"]} requests in flight\n`,
    );
    line(
      `burst over ${b.seconds.toFixed(1)} s: accepted / completed / lost`,
      `${b.accepted} / ${b.completed} / ${b.lost}   (rejected: ${b.rejected})`,
    );
    line("burst accepted/s (202s)", `${b.acceptRate.toFixed(0)} invocations/s`);
    line(
      "burst completed/s, end to end",
      `${b.rate.toFixed(0)} invocations/s   (target >= 200/s, 0 lost: ${verdict(b.rate >= 200 && b.lost === 0)})`,
    );
    line("burst accept latency p50 / p99", `${ms(accept.p50)} / ${ms(accept.p99)}`);
    Object.assign(figures, {
      burstAcceptedPerS: b.acceptRate,
      burstCompletedPerS: b.rate,
      burstLost: b.lost,
      burstRejected: b.rejected,
      burstAcceptP50Ms: accept.p50,
      burstAcceptP99Ms: accept.p99,
    });
  }
  return figures;
}

function printColdStarts(c: Awaited<ReturnType<typeof coldStartSplit>>): Record<string, number> {
  const p50 = (samples: number[]) => summarize(samples).p50;
  const init = p50(c.initMs);
  line(
    `cold starts measured / not cold or not logged`,
    `${c.endToEndMs.length} / ${c.missed}   (first invocation of each of ${c.versions} versions, sync)`,
  );
  line(
    "cold start end to end (caller), p50 / p99",
    `${ms(p50(c.endToEndMs))} / ${ms(summarize(c.endToEndMs).p99)}`,
  );
  line("  worker: receipt to result stored, p50", ms(p50(c.handledMs)));
  line("  code fetch (S3 GetObject), p50", ms(p50(c.fetchMs)));
  line("  code unpack (into the code cache), p50", ms(p50(c.unpackMs)));
  line(
    "  sandbox start + init (to ready), p50",
    `${ms(init)}   (target <= 200 ms, Lambda's Node.js init 100-200 ms: ${verdict(init <= 200)})`,
  );
  line("  durationMs reported (from the run, after the spawn), p50", ms(p50(c.durationMs)));
  return {
    "coldStart.endToEndP50Ms": p50(c.endToEndMs),
    "coldStart.handledP50Ms": p50(c.handledMs),
    "coldStart.fetchP50Ms": p50(c.fetchMs),
    "coldStart.unpackP50Ms": p50(c.unpackMs),
    "coldStart.initP50Ms": init,
    "coldStart.missed": c.missed,
  };
}

function printCurve(points: Awaited<ReturnType<typeof scalingCurve>>): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const p of points) {
    const ratio = p.ratePerS / p.expectedPerS;
    line(
      `${p.workers} worker(s) x ${p.slots} slots: completed/s, expected`,
      `${p.ratePerS.toFixed(0)} / ${p.expectedPerS.toFixed(0)} = ${ratio.toFixed(2)}   (lost ${p.lost}, rejected ${p.rejected})`,
    );
    line(
      `  CPU per invocation: all / workers`,
      `${p.cpuPerInvocationMs.toFixed(2)} / ${p.workersCpuPerInvocationMs.toFixed(2)} ms`,
    );
    Object.assign(figures, {
      [`curve.w${p.workers}.perS`]: p.ratePerS,
      [`curve.w${p.workers}.ratio`]: ratio,
      [`curve.w${p.workers}.cpuPerInvocationMs`]: p.cpuPerInvocationMs,
      [`curve.w${p.workers}.lost`]: p.lost,
    });
  }
  line(
    "target",
    `measured / expected close to 1 while the cores last (expected = workers x slots / ${SLEEP_MS} ms)`,
  );
  return figures;
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

/**
 * One synchronous invocation's cost to the queue alone: a send and the long poll it ends, on an empty
 * queue. "platform" measures it as the instances pay it, with their client (services/common/sqs-wire.ts)
 * and through the SQS endpoint they use (the VPC endpoint's stand-in, a hop of the sync path too);
 * "sdk" as any SDK user would, straight at the queue service.
 */
async function queueFloor(env: Environment, rounds: number, way: "platform" | "sdk"): Promise<number[]> {
  const sqs = env.clients.sqs;
  const queue = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-floor-${randomBytes(3).toString("hex")}` }),
  );
  const created = queue.QueueUrl ?? "";
  const wire = new SqsWire(sqs);
  const QueueUrl = way === "platform" ? env.backend.queueUrlForInstances(created) : created;
  const receive = () =>
    way === "platform"
      ? wire.receiveMessage({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 })
      : sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 5 }));
  const send = async (body: string) => {
    if (way === "platform")
      await wire.sendMessageBatch({ QueueUrl, Entries: [{ Id: "0", MessageBody: body }] });
    else await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
  };
  const samples: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const receiving = receive();
      // A hold, not a wait: the receive must be long-polling before the send starts the clock.
      await sleep(5);
      const t0 = performance.now();
      await send(JSON.stringify({ n: i }));
      const got = await receiving;
      samples.push(performance.now() - t0);
      const entries = (got.Messages ?? []).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle }));
      if (entries.length > 0)
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: created, Entries: entries }));
    }
  } finally {
    await wire.close();
    await sqs.send(new DeleteQueueCommand({ QueueUrl: created }));
  }
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

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
