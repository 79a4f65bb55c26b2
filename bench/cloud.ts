/**
 * The local clouds the benchmark measures: one for the main figures, and fresh ones for the scaling
 * curve and the cold starts, all started the same way (free ports, the same runtime, queue, sandbox
 * and send/poll settings), and what each of their components spends, for CPU accounting.
 */
import { randomBytes } from "node:crypto";
import { Environment } from "../emulator/environment";
import { freePort } from "../emulator/ports";
import { waitForWorkers } from "../emulator/readiness";
import { backendFor, RuntimeChoice } from "../emulator/runtime-choice";
import { Component } from "./cpu";

export interface CloudSettings {
  runtime: RuntimeChoice;
  queue: "local" | "moto";
  sandbox: "bwrap" | "insecure-process";
  slots: number;
  pollers: number;
  sendConcurrency: number;
}

export interface Cloud extends AsyncDisposable {
  env: Environment;
  apiKey: string;
  /** Every component's log lines, `<source> | <line>`. */
  logs: string[];
}

/** A local cloud with `workers` registered; `workerLogLevel: "info"` keeps the workers' per-invocation lines. */
export async function startCloud(
  s: CloudSettings,
  o: { workers: number; workerLogLevel?: "info" | "warn" },
): Promise<Cloud> {
  const apiKey = `bench-${randomBytes(16).toString("hex")}`;
  const [edgePort, motoPort, redisPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const logs: string[] = [];
  const env = await Environment.start({
    edgePort,
    backend: backendFor(s.runtime, { motoPort, redisPort, queue: s.queue }),
    workers: o.workers,
    workerSlots: s.slots,
    controllerEnv: { FAAS_QUEUE_SEND_CONCURRENCY: String(s.sendConcurrency) },
    workerEnv: {
      FAAS_WORKER_POLLERS: String(s.pollers),
      FAAS_SANDBOX: s.sandbox,
      ...(o.workerLogLevel !== undefined ? { FAAS_LOG_LEVEL: o.workerLogLevel } : {}),
    },
    apiKey,
    workerSecret: randomBytes(24).toString("hex"),
    logLevel: "warn",
    onLog: (source, line) => logs.push(`${source} | ${line}`),
  });
  const cloud: Cloud = {
    env,
    apiKey,
    logs,
    [Symbol.asyncDispose]: async () => {
      await env.stop();
      const problems = logs.filter((l) => /"level":(50|60)/.test(l));
      if (problems.length > 0)
        process.stdout.write(`\n${problems.length} error lines in component logs, first: ${problems[0]}\n`);
    },
  };
  try {
    if (!(await waitForWorkers(env.endpoint, apiKey, o.workers, 30_000)).ready)
      throw new Error("workers did not register");
  } catch (err) {
    await env.stop();
    throw err;
  }
  return cloud;
}

/** The local cloud's processes on this host, by component, for CPU accounting. */
export function cloudComponents(env: Environment): Component[] {
  const instances = (role: "controller" | "worker") => () =>
    env
      .list()
      .filter((i) => i.role === role && i.pid !== undefined)
      .map((i) => i.pid ?? 0);
  return [
    { name: "controller", pids: instances("controller") },
    { name: "workers", pids: instances("worker") },
    // Named once; their processes read at each sample (log agents come and go with instances).
    ...[...new Set(env.backend.hostProcesses().map((p) => p.name))].map((name) => ({
      name,
      pids: () =>
        env.backend
          .hostProcesses()
          .filter((p) => p.name === name)
          .map((p) => p.pid),
    })),
    // This process: the load generator and, on processes, the Elastic IP edge and the SQS endpoint.
    { name: "bench+edge", pids: () => [process.pid], ownOnly: true },
  ];
}
