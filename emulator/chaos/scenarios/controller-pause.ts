/**
 * SIGSTOP the serving controller, as a hung process or a stalled host would stop it: with a standby
 * (`--standby`), the lease expires and the standby takes the Elastic IP within seconds; without one,
 * the group's health checks fail and a replacement claims it. Then SIGCONT: a resumed controller must
 * not serve again — it steps down to standby, or it was terminated and replaced meanwhile.
 */
import { notYet } from "../../wait";
import { hold } from "../platform-probes";
import { Scenario, within } from "../context";
import { ms } from "../result";

export const controllerPause: Scenario<"controller-pause"> = {
  name: "controller-pause",
  title: "controller paused (SIGSTOP), then resumed",
  async run(ctx) {
    const { target, client, settings, marks } = ctx;
    const victim = (await client.health({ signal: within(new AbortController().signal) })).instanceId;
    ctx.victim("controller", victim);
    ctx.log(`    SIGSTOP controller ${victim}`);
    const faultAt = ctx.fault.begin();
    target.pause(victim);
    const serving = ctx.watch(
      "another controller serving at the Elastic IP",
      async (signal) => {
        const { instanceId } = await client.health({ signal: within(signal) });
        return instanceId !== victim ? instanceId : notYet(`the paused controller ${victim} still holds it`);
      },
      { intervalMs: 100 },
    );
    let served: Awaited<ReturnType<typeof serving.until>>;
    try {
      served = await serving.until((o) => o.ok, settings.patienceMs);
      marks.record("eipServes", served?.at);
      ctx.fault.end(served?.at);
      ctx.check(
        "another controller serves at the Elastic IP while the active one is paused",
        served?.ok === true,
        served?.ok === true ? `${served.value}, ${ms(served.at - faultAt)} after the pause` : "none",
      );
      await hold(1000);
    } finally {
      try {
        target.resume(victim);
        ctx.log(`    SIGCONT controller ${victim}`);
      } catch {
        // Without a standby the group found it unhealthy and terminated it meanwhile.
        ctx.log(`    controller ${victim} was terminated by its group while paused`);
      }
    }
    // Resumed, the old controller finds the lease gone (or was terminated meanwhile): the address
    // keeps pointing at the new one.
    await hold(2000);
    const now = await client.health({ signal: within(new AbortController().signal) }).catch(() => undefined);
    ctx.check(
      "the resumed controller does not take the address back",
      now !== undefined && now.instanceId !== victim,
      `the Elastic IP serves ${now?.instanceId ?? "nothing"}`,
    );
  },
};
