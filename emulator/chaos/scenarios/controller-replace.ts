/**
 * A planned replacement (scale-in, instance refresh, `faas dev kill --graceful`): the serving
 * controller's instance is terminated, so its service gets SIGTERM and drains. With a standby it hands
 * the lease over and the standby takes the Elastic IP at once; alone, it answers new requests with 503
 * and Retry-After until it exits, and the group's replacement claims the address. Either way, the
 * load's retrying client should see no error.
 */
import { notYet } from "../../wait";
import { Scenario, within } from "../context";
import { ms } from "../result";

export const controllerReplace: Scenario<"controller-replace"> = {
  name: "controller-replace",
  title: "controller replaced as planned (terminated: SIGTERM, drain)",
  async run(ctx) {
    const { target, client, settings, marks } = ctx;
    const victim = (await client.health({ signal: within(new AbortController().signal) })).instanceId;
    ctx.victim("controller", victim);
    ctx.log(`    terminating controller ${victim} (SIGTERM, drain)`);
    const faultAt = ctx.fault.begin();
    const serving = ctx.watch(
      "another controller serving at the Elastic IP",
      async (signal) => {
        const { instanceId } = await client.health({ signal: within(signal) });
        return instanceId !== victim ? instanceId : notYet(`${victim} still serves`);
      },
      { intervalMs: 100 },
    );
    const terminated = target.terminate(victim);
    const served = await serving.until((o) => o.ok, settings.patienceMs);
    await terminated;
    marks.record("eipServes", served?.at);
    ctx.fault.end(served?.at);
    ctx.check(
      "another controller serves at the Elastic IP after the planned stop",
      served?.ok === true,
      served?.ok === true ? `${served.value}, ${ms(served.at - faultAt)} after SIGTERM` : "none",
    );
  },
};
