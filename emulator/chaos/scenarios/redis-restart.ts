/**
 * Stop Redis and start it again (append-only file, fsync every second): invocations during the outage are
 * refused with 503, controller and workers reconnect by themselves, and work accepted before completes.
 */
import { Scenario } from "../context";
import { watchRefusals } from "../platform-probes";
import { ms } from "../result";

export const redisRestart: Scenario<"redis-restart"> = {
  name: "redis-restart",
  title: "Redis restarted",
  async run(ctx) {
    const redis = ctx.target.redis;
    if (redis === undefined) throw new Error("Redis is external to this environment: cannot restart it");
    ctx.log(`    restarting Redis (down ${ctx.settings.redisDownMs} ms)`);
    const faultAt = ctx.fault.begin();
    const restarting = redis.restart(ctx.settings.redisDownMs);
    const refusals = watchRefusals(ctx, "an invocation refused while Redis is down");
    try {
      // Resolves once Redis is back: the outage lasts redisDownMs by design.
      await restarting;
    } finally {
      await refusals.stop();
    }
    const faultEndAt = ctx.fault.end();
    const refused = refusals.first((o) => o.ok && o.at <= faultEndAt);
    ctx.marks.record("detected", refused?.at);
    const answers = [...new Set(refusals.observations.map((o) => (o.ok ? "503" : o.reason)))].join(", ");
    ctx.check(
      "invocations while Redis is down are refused with 503",
      refused !== undefined,
      refused === undefined
        ? `answered ${answers || "nothing"}`
        : `answered 503 ${ms(refused.at - faultAt)} after the stop`,
    );
  },
};
