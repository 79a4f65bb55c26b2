/**
 * The steady-state hypothesis — every controller of the group runs, the Elastic IP serves, every worker
 * of the group is registered, and a probe invocation returns the right value — and a watcher that probes it throughout a scenario and
 * keeps every answer with its time. "Back to steady" is read from those answers: the first success of
 * the run of successes that ends the scenario, never the moment a scenario happened to ask.
 */
import { GROUP } from "../environment";
import { notYet } from "../wait";
import { ChaosClient, ChaosTarget } from "./context";
import { CHAOS_FUNCTION, isDoubled } from "./load";
import { Observation, Probe, Watcher } from "./watcher";

/** Successes in a row that confirm the steady state (and give the timeline a stretch of it). */
export const CONFIRMING_PROBES = 3;

/** The hypothesis as a probe: holds (true) or says what does not hold. */
export function steadyStateProbe(
  client: Pick<ChaosClient, "workers" | "invoke">,
  target: Pick<ChaosTarget, "reconciler" | "list">,
): Probe<true> {
  return async (signal) => {
    // The controller group back at capacity: with a standby, the next fault needs it booted.
    const controllers = target.list().filter((i) => i.role === "controller" && i.state === "running").length;
    const wanted = target.reconciler.group(GROUP.controller)?.desired ?? 1;
    if (controllers < wanted) return notYet(`${controllers} of ${wanted} controllers running`);
    const { workers } = await client.workers({ signal });
    const desired = target.reconciler.group(GROUP.worker)?.desired ?? 0;
    if (workers.length < desired) return notYet(`${workers.length} of ${desired} workers registered`);
    const probe = await client.invoke(CHAOS_FUNCTION, { n: 21 }, { signal });
    if (probe.status !== 200 || !isDoubled(probe.body, 21))
      return notYet(`probe invocation answered ${probe.status} ${JSON.stringify(probe.body).slice(0, 200)}`);
    return true;
  };
}

/**
 * The successes that end the record: those sent after the last violation was sent (a probe sent
 * earlier may answer later: what it says is about the moment it was sent) and answered at or after
 * `from`, in the order they answered.
 */
export function trailingSuccesses<T>(
  observations: readonly Observation<T>[],
  from: number,
): Observation<T>[] {
  const lastViolation = Math.max(-Infinity, ...observations.filter((o) => !o.ok).map((o) => o.sentAt));
  return observations
    .filter((o) => o.ok && o.sentAt > lastViolation && o.at >= from)
    .sort((a, b) => a.at - b.at);
}

/** Whether the hypothesis held in every probe sent during [from, to], and at least one answered. */
export function heldThroughout<T>(
  observations: readonly Observation<T>[],
  from: number,
  to: number,
): boolean {
  const during = observations.filter((o) => o.sentAt >= from && o.sentAt <= to);
  return during.length > 0 && during.every((o) => o.ok);
}

export class SteadyStateWatcher {
  private readonly watcher: Watcher<true>;

  constructor(probe: Probe<true>, intervalMs = 200) {
    // Two probes may be in flight: one sent to a worker that just died can hang for a visibility timeout.
    this.watcher = new Watcher("the steady state", probe, { intervalMs, maxInFlight: 2 });
  }

  get observations(): readonly Observation<true>[] {
    return this.watcher.observations;
  }

  start(): this {
    this.watcher.start();
    return this;
  }

  /**
   * Waits until CONFIRMING_PROBES successes in a row have answered since `from`, or `timeoutMs`; answers
   * when the steady state was back (the first of the successes that end the record so far), or
   * undefined when it is not back.
   */
  async back(from: number, timeoutMs: number): Promise<number | undefined> {
    await this.watcher.untilAll((all) => trailingSuccesses(all, from).length >= CONFIRMING_PROBES, timeoutMs);
    return trailingSuccesses(this.observations, from)[0]?.at;
  }

  lastViolation(): string | undefined {
    const last = this.observations.findLast((o) => !o.ok);
    return last?.ok === false ? last.reason : undefined;
  }

  stop(): Promise<void> {
    return this.watcher.stop();
  }
}
