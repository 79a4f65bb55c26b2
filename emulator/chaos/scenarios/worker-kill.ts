/**
 * SIGKILL a worker while it runs a slow invocation: the task comes back after its visibility timeout
 * and another worker finishes it, the dead worker leaves the registry after the dead timeout, and the
 * group replaces it.
 */
import { GROUP } from "../../environment";
import { activityStarted, startOf } from "../activities";
import { Scenario, within } from "../context";
import { invocationEnded, slowTaskRunning } from "../platform-probes";
import { ms } from "../result";

export const workerKill: Scenario<"worker-kill"> = {
  name: "worker-kill",
  title: "worker killed while running an invocation",
  async run(ctx) {
    const { target, client, settings, marks } = ctx;
    const task = await slowTaskRunning(ctx);
    ctx.victim("worker", task.instanceId);
    ctx.log(`    SIGKILL worker ${task.instanceId} while it runs ${task.invocationId}`);
    const faultAt = ctx.fault.begin();
    target.kill(task.instanceId);
    const registry = ctx.watch("the registry", (signal) => client.workers({ signal: within(signal) }), {
      intervalMs: 100,
    });

    const terminated = await activityStarted(
      target,
      { group: GROUP.worker, kind: "terminate", instanceId: task.instanceId, since: faultAt },
      settings.patienceMs,
    );
    marks.record("detected", terminated && startOf(terminated));
    // The group launches the replacement once the termination is done: the first launch since.
    const launched =
      terminated &&
      (await activityStarted(
        target,
        { group: GROUP.worker, kind: "launch", since: startOf(terminated), withInstance: true },
        settings.patienceMs,
      ));
    marks.record("replaced", launched && startOf(launched));
    const inService =
      launched &&
      (await registry.until(
        (o) => o.ok && o.value.workers.some((w) => w.instanceId === launched.instanceId),
        settings.patienceMs,
      ));
    // The fault ends when the replacement registered, by the controller's clock.
    const replacement =
      inService?.ok === true
        ? inService.value.workers.find((w) => w.instanceId === launched?.instanceId)
        : undefined;
    ctx.fault.end(replacement?.registeredAt);
    if (replacement !== undefined)
      ctx.log(
        `    replacement ${replacement.instanceId} registered ${ms(replacement.registeredAt - faultAt)} after the kill`,
      );

    const done = await invocationEnded(
      ctx,
      task.invocationId,
      settings.visibilityTimeoutS * 2000 + settings.patienceMs,
    );
    ctx.check(
      "the task comes back and another worker finishes it",
      done?.status === "succeeded" && done.workerId !== task.workerId,
      `status ${done?.status ?? "?"} on ${done?.workerId ?? "?"}, attempts ${done?.attempts ?? "?"}`,
    );
    const left = await registry.until(
      (o) => o.ok && !o.value.workers.some((w) => w.workerId === task.workerId),
      settings.deadAfterMs + settings.patienceMs,
    );
    ctx.check(
      "the dead worker leaves the registry after the dead timeout",
      left !== undefined,
      left === undefined ? "still listed" : `${ms(left.at - faultAt)} after the kill`,
    );
  },
};
