/**
 * Finding the reconciler's scaling activities by their structured fields — group, kind, instance and
 * start time — and reading marks from their own timestamps (never from their description text, and
 * never from when a scenario looked).
 */
import { ActivityKind, ScalingActivity } from "../reconciler";
import { waitFor } from "../wait";
import { ChaosTarget } from "./context";

export interface ActivityQuery {
  group: string;
  kind: ActivityKind;
  /** The instance terminated or launched; any, when not given (a launch's id is known once it ran). */
  instanceId?: string;
  /** Started at or after this time (epoch milliseconds). */
  since: number;
  /** Only activities that name their instance: a launch that got one. */
  withInstance?: boolean;
}

export const startOf = (a: ScalingActivity): number => Date.parse(a.startTime);

/** The earliest activity that matches. */
export function findActivity(
  target: Pick<ChaosTarget, "reconciler">,
  q: ActivityQuery,
): ScalingActivity | undefined {
  return target.reconciler
    .list()
    .filter(
      (a) =>
        a.autoScalingGroupName === q.group &&
        a.kind === q.kind &&
        (q.instanceId === undefined || a.instanceId === q.instanceId) &&
        (q.withInstance !== true || a.instanceId !== undefined) &&
        startOf(a) >= q.since,
    )
    .sort((a, b) => startOf(a) - startOf(b))[0];
}

/** Waits until a matching activity has started; undefined when none did within `timeoutMs`. */
export function activityStarted(
  target: Pick<ChaosTarget, "reconciler">,
  q: ActivityQuery,
  timeoutMs: number,
): Promise<ScalingActivity | undefined> {
  const what = `a ${q.kind} activity in ${q.group}${q.instanceId === undefined ? "" : ` for ${q.instanceId}`}`;
  return waitFor(what, () => findActivity(target, q), { timeoutMs }).catch(() => undefined);
}
