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
