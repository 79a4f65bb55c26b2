/**
 * Warm function runtimes kept for reuse, per function version. A runtime that finished cleanly is
 * parked — every process it started ended, the rest frozen — and serves the next invocation of the
 * same version without a cold start; one that failed, timed out, exited or left processes behind is
 * ended. Idle runtimes are ended after `idleMs`, and at most `maxIdle` are kept in all.
 */
import { FunctionRecord } from "../../../contracts";
import { SandboxProcess } from "./sandbox-process";
import { SandboxSettings } from "./settings";

export interface PoolOptions {
  idleMs: number;
  maxIdle: number;
  settings: SandboxSettings;
}

interface Idle {
  proc: SandboxProcess;
  timer: NodeJS.Timeout;
}

export class SandboxPool {
  private readonly idle = new Map<string, Idle[]>();
  private idleCount = 0;
  coldStarts = 0;
  warmStarts = 0;

  constructor(private readonly options: PoolOptions) {}

  acquire(fn: FunctionRecord, codeDir: string): { proc: SandboxProcess; cold: boolean } {
    const list = this.idle.get(key(fn, codeDir));
    while (list && list.length > 0) {
      const entry = list.pop();
      if (entry === undefined) break;
      clearTimeout(entry.timer);
      this.idleCount -= 1;
      if (entry.proc.alive) {
        this.warmStarts += 1;
        return { proc: entry.proc, cold: false };
      }
    }
    this.coldStarts += 1;
    return { proc: new SandboxProcess(fn, codeDir, this.options.settings), cold: true };
  }

  async release(proc: SandboxProcess, codeDir: string, reusable: boolean): Promise<void> {
    if (!reusable || !proc.alive || this.options.maxIdle === 0) {
      proc.kill();
      return;
    }
    if (!(await proc.park())) return;
    if (this.idleCount >= this.options.maxIdle) this.evictOldest();
    const k = key(proc.fn, codeDir);
    const list = this.idle.get(k) ?? [];
    const timer = setTimeout(() => {
      const idx = list.findIndex((e) => e.proc === proc);
      if (idx >= 0) {
        list.splice(idx, 1);
        this.idleCount -= 1;
      }
      proc.kill();
    }, this.options.idleMs);
    timer.unref();
    list.push({ proc, timer });
    this.idle.set(k, list);
    this.idleCount += 1;
  }

  closeAll(): void {
    for (const list of this.idle.values()) {
      for (const e of list.splice(0)) {
        clearTimeout(e.timer);
        e.proc.kill();
      }
    }
    this.idleCount = 0;
  }

  private evictOldest(): void {
    let oldest: { list: Idle[]; idx: number; at: number } | undefined;
    for (const list of this.idle.values()) {
      list.forEach((e, idx) => {
        if (oldest === undefined || e.proc.createdAt < oldest.at)
          oldest = { list, idx, at: e.proc.createdAt };
      });
    }
    if (oldest === undefined) return;
    const [entry] = oldest.list.splice(oldest.idx, 1);
    if (entry) {
      clearTimeout(entry.timer);
      entry.proc.kill();
      this.idleCount -= 1;
    }
  }
}

const key = (fn: FunctionRecord, codeDir: string) => `${fn.name}@${fn.version}:${codeDir}`;
