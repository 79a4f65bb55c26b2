/**
 * Cut the SQS endpoint (the TCP proxy standing where the VPC interface endpoint stands) for some
 * seconds: invocations are refused with 503, and none is accepted and then lost.
 */
import { Scenario } from "../context";
import { hold, watchRefusals } from "../platform-probes";
import { ms } from "../result";

/** Requests sent this soon after the cut may have been on their way before it. */
const IN_FLIGHT_MS = 200;

export const queueCut: Scenario<"queue-cut"> = {
  name: "queue-cut",
  title: "SQS endpoint cut",
  async run(ctx) {
    const { target, settings } = ctx;
    ctx.log(`    cutting the SQS endpoint for ${settings.queueCutMs} ms`);
    const faultAt = ctx.fault.begin();
    await target.queueEndpoint.setCut(true);
    const refusals = watchRefusals(ctx, "an invocation refused while the queue is cut");
    try {
      // The cut lasts queueCutMs: a duration the fault is held for, not a wait for a condition.
      await hold(settings.queueCutMs - (Date.now() - faultAt));
    } finally {
      await refusals.stop();
      await target.queueEndpoint.setCut(false);
    }
    const faultEndAt = ctx.fault.end();
    const refused = refusals.first((o) => o.ok);
    ctx.marks.record("detected", refused?.at);
    const answers = [...new Set(refusals.observations.map((o) => (o.ok ? "503" : o.reason)))].join(", ");
    ctx.check(
      "invocations during the cut are refused with 503",
      refused !== undefined,
      refused === undefined
        ? `answered ${answers || "nothing"}`
        : `answered 503 ${ms(refused.at - faultAt)} after the cut`,
    );
    const acceptedDuringCut = ctx.load
      .between(faultAt + IN_FLIGHT_MS, faultEndAt)
      .filter((r) => r.kind === "async" && r.status === 202).length;
    ctx.check(
      "nothing is accepted while the queue is unreachable",
      acceptedDuringCut === 0,
      `${acceptedDuringCut} accepted during the cut`,
    );
  },
};
