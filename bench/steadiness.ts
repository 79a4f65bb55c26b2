/**
 * How steady this machine's CPU is, measured in the benchmark's own run: the same fixed piece of
 * JavaScript work (about 1 ms on the machines here) timed over and over, yielding to the event loop
 * between pieces so that the edge and the SQS endpoint this process hosts keep serving.
 *
 * Why the benchmark prints it: a latency target stated as a ratio (sync p99 <= 2 x p50) says as much
 * about the host as about the platform if the host itself is unsteady (a virtual machine whose CPU is
 * taken away in spells). The figure beside it is the ratio the machine gives work that does not
 * change at all; on the machines here it is 1.1-1.5 (docs/performance.md, "Is it the machine?").
 *
 * The work is integer arithmetic kept within V8's small integers, so that it allocates nothing in any
 * tier of the JIT: an earlier version summed Math.sqrt into a double, and V8 ran it for spells of
 * hundreds of milliseconds in code that boxed every intermediate double (a scavenge each millisecond,
 * 3-5 x slower), which looked like an unsteady machine and was not: the same loop in C was steady.
 *
 * `node dist/bench/steadiness.js [seconds]` measures it alone.
 */
import { readFileSync } from "node:fs";
import { ms, percentile } from "./stats";

/** Iterations of the piece of work: about 1 ms on these machines, and the same on every machine. */
const WORK_ITERATIONS = 500_000;
/**
 * A piece at least this many times slower than the machine's full speed ran on a slowed CPU. Full
 * speed is the 10th percentile, not the median: on a machine slowed most of the time the median would
 * itself be the slow speed.
 */
const SLOWED_FACTOR = 2;
const FULL_SPEED_PERCENTILE = 10;

export interface Steadiness {
  /** Milliseconds each piece took, in order. */
  samples: number[];
  /** The machine at full speed: the 10th percentile. */
  fast: number;
  p50: number;
  p99: number;
  /** Share of the measured time spent in pieces at least SLOWED_FACTOR times slower than full speed. */
  slowedShare: number;
}

/**
 * The fixed work: a chain of dependent integer steps the JIT cannot fold away (the result is
 * returned), every value below 2^24, so a small integer that is never allocated.
 */
function work(): number {
  let x = 1;
  for (let i = 0; i < WORK_ITERATIONS; i++) x = (x + ((x << 3) ^ i)) & 0xfffff;
  return x;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Times the fixed work for `seconds` (after a short unmeasured warm-up for the JIT). */
export async function cpuSteadiness(seconds: number): Promise<Steadiness> {
  let sink = 0;
  for (let i = 0; i < 50; i++) sink += work();
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const t0 = performance.now();
    sink += work();
    samples.push(performance.now() - t0);
    await yieldToLoop();
  }
  if (sink < 0) throw new Error("unreachable: keeps the work from being optimised away");
  return describe(samples);
}

export function describe(samples: number[]): Steadiness {
  const sorted = [...samples].sort((a, b) => a - b);
  const fast = percentile(sorted, FULL_SPEED_PERCENTILE);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  const total = samples.reduce((sum, d) => sum + d, 0);
  const slowed = samples.filter((d) => d >= SLOWED_FACTOR * fast).reduce((sum, d) => sum + d, 0);
  return { samples, fast, p50, p99, slowedShare: total > 0 ? slowed / total : 0 };
}

export function formatSteadiness(s: Steadiness): string {
  return (
    `${ms(s.p50)} / ${ms(s.p99)}   (p99 = ${(s.p99 / s.p50).toFixed(1)} x p50; full speed ${ms(s.fast)}, ` +
    `${(s.slowedShare * 100).toFixed(0)} % of the time at half of it or less)`
  );
}

/**
 * The machine's CPU time over a span, from /proc/stat's first line (all CPUs, in clock ticks): how
 * much of it this machine's processes used, how much sat idle, and how much the hypervisor took
 * (steal: time a virtual CPU had work and was not run). Work that sleeps and wakes between
 * processes, as a synchronous call does a dozen times, loses more to steal than a loop that never
 * sleeps, so the fixed work above can look steady on a host that still slows every hand-off.
 */
export interface MachineTime {
  busy: number;
  idle: number;
  steal: number;
}

/** /proc/stat's totals now, or undefined where there is no /proc/stat (not Linux). */
export function sampleMachineTime(
  read: () => string = () => readFileSync("/proc/stat", "utf8"),
): MachineTime | undefined {
  let text: string;
  try {
    text = read();
  } catch {
    return undefined;
  }
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

/** Shares of the machine's time between two samples: busy, idle and stolen add up to 1. */
export function machineTimeBetween(
  before: MachineTime | undefined,
  after: MachineTime | undefined,
): MachineTime | undefined {
  if (before === undefined || after === undefined) return undefined;
  const busy = after.busy - before.busy;
  const idle = after.idle - before.idle;
  const steal = after.steal - before.steal;
  const total = busy + idle + steal;
  return total > 0 ? { busy: busy / total, idle: idle / total, steal: steal / total } : undefined;
}

export function formatMachineTime(t: MachineTime | undefined): string {
  if (t === undefined) return "unknown (no /proc/stat)";
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  return `${pct(t.steal)} stolen by the hypervisor, ${pct(t.busy)} busy, ${pct(t.idle)} idle`;
}

if (require.main === module) {
  const seconds = Number(process.argv[2] ?? 5);
  if (!(seconds > 0)) {
    process.stderr.write("usage: node dist/bench/steadiness.js [seconds > 0]\n");
    process.exit(1);
  }
  void cpuSteadiness(seconds).then((s) => {
    process.stdout.write(`fixed CPU work (${s.samples.length} pieces), p50 / p99: ${formatSteadiness(s)}\n`);
  });
}
