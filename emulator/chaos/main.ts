/** `make chaos-test`: run the scenarios under load, print the table, write the journal and the HTML report. */
import path from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { AWS_TIMING, FAST_TIMING } from "../reconciler";
import { chooseRuntime, RUNTIME_REQUESTS } from "../runtime-choice";
import { ALL_SCENARIOS } from "./scenarios";
import { runChaos } from "./run-chaos";

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option("aws-timing", {
      type: "boolean",
      default: false,
      describe: "EC2-like detection (~10 s) and boot (~30 s)",
    })
    .option("standby", {
      type: "boolean",
      default: false,
      describe: "a hot standby controller: the controller group is 2/2 (docs/failover.md)",
    })
    .option("runtime", {
      choices: RUNTIME_REQUESTS,
      default: "auto" as const,
      describe:
        "instances as containers (docker) or processes; auto: Docker when an engine answers and the images exist",
    })
    .option("scenarios", { type: "string", array: true, choices: ALL_SCENARIOS, default: ALL_SCENARIOS })
    .option("heartbeat-interval-ms", { type: "number", default: 10_000 })
    .option("worker-dead-after-ms", { type: "number", default: 30_000 })
    .option("visibility-timeout-s", { type: "number", default: 30 })
    .option("queue-cut-ms", { type: "number", default: 5000 })
    .option("redis-down-ms", { type: "number", default: 3000 })
    .option("out", {
      type: "string",
      default: "chaos-results",
      describe: "folder for the journal and the HTML report",
    })
    .strict()
    .parseAsync();
  const scaling = args["aws-timing"] ? AWS_TIMING : FAST_TIMING;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const runtime = await chooseRuntime(args.runtime, { log: say });
  say(`${runtime.kind} runtime: ${runtime.reason}`);
  const run = await runChaos({
    runtime: runtime.kind,
    scenarios: args.scenarios,
    standby: args.standby,
    scaling,
    settings: {
      heartbeatIntervalMs: args["heartbeat-interval-ms"],
      deadAfterMs: args["worker-dead-after-ms"],
      visibilityTimeoutS: args["visibility-timeout-s"],
      queueCutMs: args["queue-cut-ms"],
      redisDownMs: args["redis-down-ms"],
      // The slowest recovery the group can make: a hung controller still in its health-check grace
      // period is noticed only once the grace ends, then terminated and replaced.
      patienceMs:
        scaling.healthCheckGraceMs +
        scaling.healthCheckIntervalMs * scaling.unhealthyThreshold +
        scaling.detectionDelayMs +
        scaling.terminationDelayMs +
        scaling.bootDelayMs +
        60_000,
    },
    outDir: path.resolve(args.out),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  process.stdout.write(`\n${run.table}\n`);
  if (run.files) process.stdout.write(`\njournal: ${run.files.json}\nreport:  ${run.files.html}\n`);
  process.stdout.write(run.passed ? "\nall hypotheses held; nothing lost\n" : "\nchaos test FAILED\n");
  process.exit(run.passed ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `chaos test failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(2);
});
