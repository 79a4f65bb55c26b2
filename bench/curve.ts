/**
 * The scaling curve: sustained asynchronous throughput, and CPU per invocation, with 1, 2, 4...
 * workers, each point a fresh local cloud, with a function that takes 50 ms. There the slots, not the
 * queue, should be the limit: workers x slots invocations every 50 ms at best, so the figure printed
 * is the measured rate as a share of that. On a machine with fewer cores than workers the share falls
 * as the CPU runs out, which is what the curve shows.
 */
import { PlatformClient } from "../client/platform-client";
import { CloudSettings, cloudComponents, startCloud } from "./cloud";
import { cpuBetween, sampleCpu } from "./cpu";
import { asyncLoad } from "./load";

export const SLEEP_MS = 50;
const SOURCE = `exports.handler = async (event) => { await new Promise((r) => setTimeout(r, ${SLEEP_MS})); return { ok: true, n: event.n }; };`;
const FUNCTION = "bench-sleep";

export interface CurvePoint {
  workers: number;
  slots: number;
  /** workers x slots / 50 ms. */
  expectedPerS: number;
  ratePerS: number;
  accepted: number;
  completed: number;
  lost: number;
  rejected: number;
  cpuPerInvocationMs: number;
  workersCpuPerInvocationMs: number;
}

export async function scalingCurve(
  settings: CloudSettings,
  workerCounts: number[],
  o: { seconds: number; concurrency: number; maxOutstanding: number },
): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const workers of workerCounts) {
    process.stdout.write(`  scaling curve: ${workers} worker(s)...\n`);
    await using cloud = await startCloud(settings, { workers });
    const client = new PlatformClient(cloud.env.endpoint, cloud.apiKey);
    await client.deploy(FUNCTION, { source: SOURCE });
    const slots = workers * settings.slots;
    // Unmeasured: every slot's runtime started once, so the window measures warm invocations only.
    await asyncLoad(cloud.env.redisUrl, client, {
      function: FUNCTION,
      concurrency: o.concurrency,
      maxOutstanding: slots * 2,
      count: slots * 2,
    });
    const components = cloudComponents(cloud.env);
    const before = sampleCpu(components);
    const load = await asyncLoad(cloud.env.redisUrl, client, {
      function: FUNCTION,
      concurrency: o.concurrency,
      maxOutstanding: Math.max(o.maxOutstanding, slots * 4),
      seconds: o.seconds,
    });
    const cpu = cpuBetween(before, sampleCpu(components));
    const perInvocation = (ms: number) => (load.completed > 0 ? ms / load.completed : NaN);
    points.push({
      workers,
      slots: settings.slots,
      expectedPerS: slots / (SLEEP_MS / 1000),
      ratePerS: load.rate,
      accepted: load.accepted,
      completed: load.completed,
      lost: load.lost,
      rejected: load.rejected,
      cpuPerInvocationMs: perInvocation([...cpu.values()].reduce((a, b) => a + b, 0)),
      workersCpuPerInvocationMs: perInvocation(cpu.get("workers") ?? NaN),
    });
  }
  return points;
}
