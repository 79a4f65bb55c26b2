/**
 * The sandbox's own cost, measured on the worker's sandbox code directly (no queue, no HTTP): a cold
 * start (a new runtime up to its first result) and a warm invocation (the next result from a parked
 * runtime: thaw, invoke, check for stray processes, freeze), each with bubblewrap and with the plain
 * child process it replaced (`FAAS_SANDBOX=insecure-process`), in the same run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FunctionRecord } from "../contracts";
import { SandboxProcess } from "../services/worker/sandbox/sandbox-process";
import { prepareSandbox, SandboxOptions } from "../services/worker/sandbox/settings";
import { ms, summarize } from "./stats";

export interface SandboxCost {
  mechanism: string;
  guarantees: string;
  coldMs: number[];
  warmMs: number[];
}

const FN: FunctionRecord = {
  name: "bench",
  version: 1,
  codeSha256: "0".repeat(64),
  codeKey: "code/bench.js",
  codeFormat: "source",
  codeSize: 0,
  handler: "index.handler",
  timeoutMs: 10_000,
  memoryMb: 128,
  env: {},
  createdAt: "",
  updatedAt: "",
};

export async function sandboxCost(
  source: string,
  coldRounds: number,
  warmRounds: number,
): Promise<SandboxCost[]> {
  const codeDir = mkdtempSync(path.join(os.tmpdir(), "faas-bench-code-"));
  chmodSync(codeDir, 0o755);
  mkdirSync(codeDir, { recursive: true });
  writeFileSync(path.join(codeDir, "index.js"), source, { mode: 0o444 });
  const base: Omit<SandboxOptions, "mechanism"> = {
    cgroups: "auto",
    uidBase: 190_000,
    uidCount: 100,
    insecureUser: "nobody",
    tmpMb: 64,
    cpus: 1,
    maxPids: 128,
    name: `faas-bench-${process.pid}`,
    slots: 1,
    runtimeCopy: path.join(codeDir, "..", `faas-bench-runtime-${process.pid}`),
  };
  const out: SandboxCost[] = [];
  try {
    for (const mechanism of ["insecure-process", "bwrap"] as const) {
      const settings = prepareSandbox({ ...base, mechanism });
      const g = settings.guarantees;
      const cost: SandboxCost = {
        mechanism,
        guarantees: `uid per sandbox ${g.uidPerSandbox ? "yes" : "no"}, cgroups ${g.cgroups.join("+") || "none"}`,
        coldMs: [],
        warmMs: [],
      };
      for (let i = 0; i < coldRounds; i++) {
        const started = performance.now();
        const proc = new SandboxProcess(FN, codeDir, settings);
        const outcome = await proc.run(`cold-${i}`, { n: i }, 10_000);
        cost.coldMs.push(performance.now() - started);
        if (outcome.status !== "succeeded")
          throw new Error(`cold start failed: ${JSON.stringify(outcome.error)}`);
        proc.kill();
      }
      const proc = new SandboxProcess(FN, codeDir, settings);
      await proc.run("warm-up", { n: 0 }, 10_000);
      await proc.park();
      for (let i = 0; i < warmRounds; i++) {
        const started = performance.now();
        const outcome = await proc.run(`warm-${i}`, { n: i }, 10_000);
        await proc.park();
        cost.warmMs.push(performance.now() - started);
        if (outcome.status !== "succeeded")
          throw new Error(`warm invocation failed: ${JSON.stringify(outcome.error)}`);
      }
      proc.kill();
      await new Promise((r) => setTimeout(r, 200));
      await settings.cgroups?.close();
      out.push(cost);
    }
  } finally {
    rmSync(codeDir, { recursive: true, force: true });
    rmSync(base.runtimeCopy, { recursive: true, force: true });
  }
  return out;
}

export function printSandboxCost(costs: SandboxCost[]): void {
  const [plain, sandboxed] = costs;
  process.stdout.write("\nsandbox cost (worker sandbox code, no queue):\n");
  for (const c of costs) {
    const cold = summarize(c.coldMs);
    const warm = summarize(c.warmMs);
    process.stdout.write(
      `  ${c.mechanism.padEnd(17)} cold start p50 ${ms(cold.p50)} p95 ${ms(cold.p95)}   warm invocation p50 ${ms(warm.p50)} p95 ${ms(warm.p95)}   (${c.guarantees})\n`,
    );
  }
  if (plain !== undefined && sandboxed !== undefined) {
    const d = (a: number[], b: number[]) => summarize(b).p50 - summarize(a).p50;
    process.stdout.write(
      `  isolation adds ${ms(d(plain.coldMs, sandboxed.coldMs))} to a cold start and ${ms(d(plain.warmMs, sandboxed.warmMs))} to a warm invocation (p50)\n`,
    );
  }
}
