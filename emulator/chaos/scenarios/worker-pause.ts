/**
 * SIGSTOP a worker while it runs a slow invocation, past the dead timeout, then SIGCONT: the registry
 * drops it and takes it back, the group leaves it alone (its process is alive), and the task it held
 * has exactly one result.
 */
import { Scenario, within } from "../context";
import { hold, invocationEnded, slowTaskRunning } from "../platform-probes";
import { ms } from "../result";

export const workerPause: Scenario<"worker-pause"> = {
  name: "worker-pause",
  title: "worker paused (SIGSTOP) past the dead timeout, then resumed",
  async run(ctx) {
    const { target, client, settings, marks } = ctx;
    const task = await slowTaskRunning(ctx);
    ctx.victim("worker", task.instanceId);
    ctx.log(`    SIGSTOP worker ${task.instanceId} while it runs ${task.invocationId}`);
    const faultAt = ctx.fault.begin();
    target.pause(task.instanceId);
    const registry = ctx.watch("the registry", (signal) => client.workers({ signal: within(signal) }), {
      intervalMs: 100,
    });
    const listed = (workers: readonly { workerId: string }[]) =>
      workers.some((w) => w.workerId === task.workerId);
    let resumedAt: number;
    try {
      // The registry shows no event for a drop: the mark is the first answer without the worker.
      const dropped = await registry.until(
        (o) => o.ok && !listed(o.value.workers),
        settings.deadAfterMs + settings.patienceMs,
      );
      marks.record("detected", dropped?.at);
      ctx.check(
        "the paused worker is dropped from the registry",
        dropped !== undefined,
        dropped === undefined ? "still listed" : `${ms(dropped.at - faultAt)} after the pause`,
      );
      ctx.check(
        "a paused worker is not replaced (its process is alive)",
        target.live("worker").some((w) => w.instanceId === task.instanceId),
        "",
      );
      // The pause is held a little past the drop: how long the fault lasts, not a wait for anything.
      await hold(Math.min(2000, settings.heartbeatIntervalMs));
    } finally {
      target.resume(task.instanceId);
      resumedAt = ctx.fault.end();
      ctx.log(`    SIGCONT worker ${task.instanceId}`);
    }
    const back = await registry.until(
      (o) => o.ok && o.sentAt >= resumedAt && listed(o.value.workers),
      settings.patienceMs,
    );
    // Registered again, by the controller's clock.
    const registeredAt =
      back?.ok === true
        ? back.value.workers.find((w) => w.workerId === task.workerId)?.registeredAt
        : undefined;
    marks.record("reRegistered", registeredAt);
    ctx.check(
      "the resumed worker registers again",
      registeredAt !== undefined,
      registeredAt === undefined ? "" : `${ms(registeredAt - resumedAt)} after the resume`,
    );
    const done = await invocationEnded(
      ctx,
      task.invocationId,
      settings.visibilityTimeoutS * 2000 + settings.patienceMs,
    );
    ctx.check(
      "the task it held produces exactly one result",
      done?.status === "succeeded",
      `status ${done?.status ?? "?"}, attempts ${done?.attempts ?? "?"}`,
    );
  },
};
