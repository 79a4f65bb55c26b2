/**
 * CPU time per component of the local cloud, from /proc: for each component's root process, the user
 * and system time of every live process in its tree, plus what their reaped children had
 * (cutime/cstime). A process that ends moves its time into its parent's cutime when reaped, so the sum
 * over the live tree only grows: the difference between two samples is what the tree spent between
 * them — sandboxes, their short-lived children and warm runtimes included. Far less noisy than a rate
 * on a shared machine.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface Component {
  name: string;
  /** The root processes of the component now (instances come and go). */
  pids(): number[];
  /** Only the roots' own time, not their children's (this process: its children are the cloud). */
  ownOnly?: boolean;
}

interface Stat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: its reaped children's, in clock ticks. */
  reaped: number;
}

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Every process's parent and CPU ticks, read once. */
function readProcesses(): Map<number, Stat> {
  const all = new Map<number, Stat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // gone since the listing
    }
    // The command may contain spaces and parentheses: the fields start after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
    const num = (field: number) => Number(fields[field - 3] ?? 0);
    all.set(Number(entry), { ppid: num(4), own: num(14) + num(15), reaped: num(16) + num(17) });
  }
  return all;
}

/** The CPU milliseconds each component's process trees have used so far. */
export function sampleCpu(components: Component[]): Map<string, number> {
  const all = readProcesses();
  const children = new Map<number, number[]>();
  for (const [pid, stat] of all) {
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out = new Map<string, number>();
  for (const component of components) {
    let ticks = 0;
    const seen = new Set<number>();
    const stack = component.pids().filter((pid) => all.has(pid));
    for (let pid = stack.pop(); pid !== undefined; pid = stack.pop()) {
      if (seen.has(pid)) continue;
      seen.add(pid);
      const stat = all.get(pid);
      if (stat === undefined) continue;
      ticks += stat.own + (component.ownOnly === true ? 0 : stat.reaped);
      if (component.ownOnly !== true) stack.push(...(children.get(pid) ?? []));
    }
    out.set(component.name, (ticks * 1000) / TICKS_PER_SECOND);
  }
  return out;
}

/** What each component spent between two samples. */
export function cpuBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, ms] of after) out.set(name, ms - (before.get(name) ?? 0));
  return out;
}
