/**
 * A controller's health check, as a load balancer does it: GET /healthz on the instance itself every
 * interval after a grace period; `unhealthyThreshold` failures in a row make the instance unhealthy.
 * Until its first answer, failures do not count for up to the backend's boot allowance beyond the
 * grace period (a container boots slower than a process, and much slower on a loaded machine).
 */
import { ScalingTiming } from "./reconciler";

export interface HealthCheckerOptions {
  timing: ScalingTiming;
  bootAllowanceMs: number;
  /** When the service started (Date.now()). */
  startedAt: number;
  target: () => Promise<{ host: string; port: number } | undefined>;
  /** Whether the instance is still one to check (running, not terminated or already unhealthy). */
  checking: () => boolean;
  onUnhealthy: (reason: string) => void;
}

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private answered = false;

  constructor(private readonly o: HealthCheckerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.timing.healthCheckIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    const t = this.o.timing;
    if (!this.o.checking()) return;
    const sinceStart = Date.now() - this.o.startedAt;
    if (sinceStart < t.healthCheckGraceMs) return;
    const ok = await this.probe(Math.min(2000, t.healthCheckIntervalMs));
    if (ok) this.answered = true;
    else if (!this.answered && sinceStart < t.healthCheckGraceMs + this.o.bootAllowanceMs) return;
    this.failures = ok ? 0 : this.failures + 1;
    if (this.failures >= t.unhealthyThreshold && this.o.checking()) {
      this.stop();
      this.o.onUnhealthy(`health check failed ${this.failures} times in a row`);
    }
  }

  private async probe(timeoutMs: number): Promise<boolean> {
    try {
      const target = await this.o.target();
      if (target === undefined) return false;
      const res = await fetch(`http://${target.host}:${target.port}/healthz`, {
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }
}
