/** Calls on the platform that several scenarios make: a slow task running on a known worker, an invocation's end. */
import { InvocationView } from "../../contracts";
import { sleep } from "../../services/common/backoff";
import { notYet, waitFor } from "../wait";
import { ScenarioContext } from "./context";
import { CHAOS_FUNCTION, failure } from "./load";

export interface RunningTask {
  invocationId: string;
  workerId: string;
  instanceId: string;
}

/**
 * Starts a slow invocation and waits until a live worker runs it. On a loaded machine the first one
 * may finish before it is seen running, or queue behind the load: then it tries again.
 */
export async function slowTaskRunning(ctx: ScenarioContext): Promise<RunningTask> {
  const sleepMs = Math.max(3000, ctx.settings.heartbeatIntervalMs);
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { invocationId } = await ctx.client.invokeAsync(CHAOS_FUNCTION, { n: 7, sleepMs });
    ctx.track({ at: Date.now(), kind: "async", n: 7, status: 202, latencyMs: 0, invocationId, retried: 0 });
    const running = await waitFor(
      `invocation ${invocationId} to run`,
      async () => {
        const view = await ctx.client.getInvocation(invocationId);
        return (view.status === "running" && view.workerId) || notYet(`status ${view.status}`);
      },
      { timeoutMs: ctx.settings.patienceMs },
    ).catch(() => undefined);
    const instance = ctx.target.live("worker").find((w) => running?.startsWith(w.instanceId) === true);
    if (running !== undefined && instance !== undefined)
      return { invocationId, workerId: running, instanceId: instance.instanceId };
    ctx.log(
      `    invocation ${invocationId} was not seen running on a live worker (${running ?? "none"}); trying again`,
    );
  }
  throw new Error("could not get a slow invocation running on a live worker");
}

/** The invocation once it ended (not queued, not running); undefined if it did not within `timeoutMs`. */
export function invocationEnded(
  ctx: Pick<ScenarioContext, "client">,
  invocationId: string,
  timeoutMs: number,
): Promise<InvocationView | undefined> {
  return waitFor(
    `invocation ${invocationId} to end`,
    async () => {
      const view = await ctx.client.getInvocation(invocationId);
      return (
        (view.status !== "queued" && view.status !== "running" && view) || notYet(`status ${view.status}`)
      );
    },
    { timeoutMs },
  ).catch(() => undefined);
}

/**
 * Watches, from now, what an asynchronous invocation is answered: each answer's status (503 while the
 * platform refuses work). An invocation it gets accepted is followed to its end with the load's.
 */
export function watchRefusals(ctx: ScenarioContext, what: string) {
  return ctx.watch<number>(
    what,
    // Not cancelled when the watcher stops: an invocation accepted must be known, to be followed up.
    async () => {
      const at = Date.now();
      try {
        const { invocationId } = await ctx.client.invokeAsync(CHAOS_FUNCTION, { n: 1 });
        ctx.track({
          at,
          kind: "async",
          n: 1,
          status: 202,
          latencyMs: Date.now() - at,
          invocationId,
          retried: 0,
        });
        return notYet("accepted (202)");
      } catch (err) {
        const { status, error } = failure(err);
        return status === 503 ? status : notYet(`answered ${status || error}`);
      }
    },
    { intervalMs: 200 },
  );
}

/** Holds a fault for a duration it must last (an outage of N ms): not a wait for a condition. */
export const hold = (ms: number): Promise<void> => sleep(Math.max(0, ms));
