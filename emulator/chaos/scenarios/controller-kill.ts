/**
 * SIGKILL the serving controller: the group notices, terminates it (its Elastic IP is disassociated)
 * and launches a new instance, which claims the address — or, with a standby, the standby takes the
 * lease and the address first; every worker must re-register with the new active controller within
 * one heartbeat interval plus a margin.
 */
import { GROUP } from "../../environment";
import { notYet } from "../../wait";
import { activityStarted, findActivity, startOf } from "../activities";
import { Scenario, within } from "../context";
import { ms } from "../result";

export const controllerKill: Scenario<"controller-kill"> = {
  name: "controller-kill",
  title: "controller killed (SIGKILL)",
  async run(ctx) {
    const { target, client, settings, marks } = ctx;
    // The one serving at the Elastic IP (with a standby, the other one is idle).
    const victim = (await client.health({ signal: within(new AbortController().signal) })).instanceId;
    ctx.victim("controller", victim);
    ctx.log(`    SIGKILL controller ${victim}`);
    const faultAt = ctx.fault.begin();
    target.kill(victim);
    const serving = ctx.watch(
      "a new controller serving at the Elastic IP",
      async (signal) => {
        const { instanceId } = await client.health({ signal: within(signal) });
        return instanceId !== victim ? instanceId : notYet(`the killed controller ${victim} answers`);
      },
      { intervalMs: 100 },
    );
    const registry = ctx.watch("the registry", (signal) => client.workers({ signal: within(signal) }), {
      intervalMs: 100,
    });

    const terminated = await activityStarted(
      target,
      { group: GROUP.controller, kind: "terminate", instanceId: victim, since: faultAt },
      settings.patienceMs,
    );
    marks.record("detected", terminated && startOf(terminated));

    const served = await serving.until((o) => o.ok, settings.patienceMs);
    const replacement = served?.ok === true ? served.value : undefined;
    ctx.fault.end(served?.at);
    marks.record("eipServes", served?.at);
    const launched =
      replacement === undefined
        ? undefined
        : findActivity(target, {
            group: GROUP.controller,
            kind: "launch",
            instanceId: replacement,
            since: faultAt,
          });
    marks.record("replaced", launched && startOf(launched));
    ctx.check(
      "a new controller instance serves at the Elastic IP",
      replacement !== undefined,
      `new instance ${replacement ?? "none"}`,
    );

    const desired = target.reconciler.group(GROUP.worker)?.desired ?? 0;
    const full = await registry.until(
      (o) => o.ok && o.value.controllerInstanceId === replacement && o.value.workers.length >= desired,
      settings.patienceMs,
    );
    // When the last worker registered with the new controller, by the controller's own clock.
    const reRegistered =
      full?.ok === true ? Math.max(...full.value.workers.map((w) => w.registeredAt)) : undefined;
    marks.record("reRegistered", reRegistered);
    const margin = settings.heartbeatIntervalMs + Math.max(1000, settings.heartbeatIntervalMs / 2);
    const took = reRegistered !== undefined && served !== undefined ? reRegistered - served.at : Infinity;
    ctx.check(
      "workers re-register within one heartbeat interval plus a margin",
      took <= margin,
      `${ms(took)} after the new controller served (limit ${ms(margin)})`,
    );
  },
};
