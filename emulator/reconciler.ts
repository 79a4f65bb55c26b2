/**
 * The Auto Scaling reconciler: what an ASG does, for the local cloud. moto's ASG launches nothing,
 * replaces a terminated instance instantly and ignores health, so the emulator keeps its own groups:
 * every tick it compares healthy capacity with desired capacity, takes unhealthy instances out of
 * service (a process that exited, or a controller whose health check failed `unhealthyThreshold`
 * times in a row) and launches replacements, each with a new instance id. Its delays are settings:
 * `FAST_TIMING` for development and tests, `AWS_TIMING` to model EC2 (about 30 s to boot from the
 * pre-baked AMI, as the original design measured). Every action is recorded as a scaling activity in the shape
 * of DescribeScalingActivities.
 */
import { Clock, SYSTEM_CLOCK } from "./clock";
import { Role } from "./backends/backend";

export interface ScalingTiming {
  /** From the moment an instance becomes unhealthy until the group notices. */
  detectionDelayMs: number;
  /** How long terminating an instance takes before the replacement is launched. */
  terminationDelayMs: number;
  /** From RunInstances until the instance's service starts (AMI boot). */
  bootDelayMs: number;
  healthCheckIntervalMs: number;
  unhealthyThreshold: number;
  /** No health checks this long after an instance's service starts (the ASG's grace period). */
  healthCheckGraceMs: number;
  /** From AssociateAddress until the Elastic IP carries traffic to its new instance (edge.ts). */
  eipRemapDelayMs: number;
}

export const FAST_TIMING: ScalingTiming = {
  detectionDelayMs: 500,
  terminationDelayMs: 200,
  bootDelayMs: 300,
  healthCheckIntervalMs: 1000,
  unhealthyThreshold: 3,
  healthCheckGraceMs: 5000,
  eipRemapDelayMs: 0,
};

/** EC2-like: status checks notice within ~10 s, termination takes seconds, the AMI boots in ~30 s. */
export const AWS_TIMING: ScalingTiming = {
  detectionDelayMs: 10_000,
  terminationDelayMs: 5000,
  bootDelayMs: 30_000,
  healthCheckIntervalMs: 5000,
  unhealthyThreshold: 2,
  healthCheckGraceMs: 60_000,
  eipRemapDelayMs: 2000,
};

/** How often the reconciler compares the groups with their desired capacity. */
export const RECONCILE_INTERVAL_MS = 100;

/** After a failed launch, the group waits this long before its next attempt. */
const LAUNCH_RETRY_MS = 1000;

export interface GroupSpec {
  name: string;
  role: Role;
  min: number;
  max: number;
  desired: number;
}

/** What a scaling activity did: launched an instance, or terminated one. */
export type ActivityKind = "launch" | "terminate";

/**
 * Why the group acted: it terminates an instance only because the instance became unhealthy (a
 * process that exited, a failed health check, a failed boot), and launches only to close a gap
 * between desired and actual capacity (after a termination, a new desired capacity, or at start).
 */
export type ActivityReason = "unhealthy" | "capacity";

/**
 * One scaling activity. `kind`, `reason`, `instanceId` and `startTime` are what programs match on;
 * `description` and `cause` are text for people, in the words of DescribeScalingActivities.
 */
export interface ScalingActivity {
  activityId: string;
  autoScalingGroupName: string;
  kind: ActivityKind;
  reason: ActivityReason;
  description: string;
  cause: string;
  startTime: string;
  endTime?: string;
  statusCode: "InProgress" | "Successful" | "Failed";
  /** The instance terminated, or launched (known once RunInstances answered; absent when it failed). */
  instanceId?: string;
}

/** What the reconciler needs from the environment it runs in. */
export interface Fleet {
  /** Instances of a role that are not terminated, with their health (`unhealthySince` on the reconciler's clock). */
  members(role: Role): { instanceId: string; healthy: boolean; unhealthySince?: number; reason?: string }[];
  launch(role: Role, bootDelayMs: number): Promise<{ instanceId: string }>;
  terminate(instanceId: string): Promise<void>;
}

export class Reconciler {
  private readonly groups: GroupSpec[];
  private readonly activities: ScalingActivity[] = [];
  private readonly busy = new Set<string>();
  /** Instances being terminated, by group: they hold their place until termination completes. */
  private readonly replacing = new Map<string, string>();
  private stopTicking: (() => void) | undefined;
  private stopped = false;
  private seq = 0;

  constructor(
    groups: GroupSpec[],
    private readonly fleet: Fleet,
    readonly timing: ScalingTiming,
    private readonly onActivity: (a: ScalingActivity) => void = () => undefined,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.groups = groups.map((g) => ({ ...g }));
  }

  async start(): Promise<void> {
    await this.tick();
    this.stopTicking = this.clock.every(RECONCILE_INTERVAL_MS, () => void this.tick());
  }

  stop(): void {
    this.stopped = true;
    this.stopTicking?.();
  }

  list(): ScalingActivity[] {
    return [...this.activities].reverse();
  }

  group(name: string): GroupSpec | undefined {
    return this.groups.find((g) => g.name === name);
  }

  setDesired(name: string, desired: number): void {
    const group = this.group(name);
    if (group === undefined) throw new Error(`no group ${name}`);
    if (desired < group.min || desired > group.max) {
      throw new Error(`desired capacity ${desired} is outside ${group.min}..${group.max} for ${name}`);
    }
    group.desired = desired;
  }

  /** One pass: replace unhealthy instances, then launch up to desired capacity. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const work: Promise<void>[] = [];
    for (const group of this.groups) {
      const members = this.fleet.members(group.role);
      for (const m of members) {
        if (m.healthy || this.busy.has(m.instanceId) || m.unhealthySince === undefined) continue;
        if (this.clock.now() - m.unhealthySince < this.timing.detectionDelayMs) continue;
        work.push(this.replace(group, m.instanceId, m.reason ?? "failed its health check"));
      }
      // Unhealthy instances count until they are terminated: as on AWS, the replacement is launched
      // after the termination, not before.
      const launching = [...this.busy].filter((k) => k.startsWith(`launch:${group.name}:`)).length;
      const replacing = [...this.replacing.values()].filter((g) => g === group.name).length;
      const inService = this.fleet
        .members(group.role)
        .filter((m) => !this.replacing.has(m.instanceId)).length;
      const capacity = inService + replacing + launching;
      for (let i = capacity; i < group.desired; i++) work.push(this.launch(group, i, group.desired));
    }
    await Promise.all(work);
  }

  private async replace(group: GroupSpec, instanceId: string, reason: string): Promise<void> {
    this.busy.add(instanceId);
    this.replacing.set(instanceId, group.name);
    const activity = this.record(
      group,
      "terminate",
      "unhealthy",
      `Terminating EC2 instance: ${instanceId}`,
      `an instance was taken out of service in response to a health check indicating it has been terminated or stopped (${reason})`,
      instanceId,
    );
    try {
      await this.fleet.terminate(instanceId);
      await this.clock.sleep(this.timing.terminationDelayMs);
      this.finish(activity, "Successful");
    } catch (err) {
      this.finish(activity, "Failed", String(err));
    } finally {
      this.busy.delete(instanceId);
      this.replacing.delete(instanceId);
    }
  }

  private async launch(group: GroupSpec, from: number, to: number): Promise<void> {
    const key = `launch:${group.name}:${++this.seq}`;
    this.busy.add(key);
    const activity = this.record(
      group,
      "launch",
      "capacity",
      "Launching a new EC2 instance",
      `an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${from} to ${to}`,
    );
    try {
      const { instanceId } = await this.fleet.launch(group.role, this.timing.bootDelayMs);
      activity.description = `Launching a new EC2 instance: ${instanceId}`;
      activity.instanceId = instanceId;
      this.finish(activity, "Successful");
    } catch (err) {
      this.finish(activity, "Failed", String(err));
      await this.clock.sleep(LAUNCH_RETRY_MS);
    } finally {
      this.busy.delete(key);
    }
  }

  private record(
    group: GroupSpec,
    kind: ActivityKind,
    reason: ActivityReason,
    description: string,
    cause: string,
    instanceId?: string,
  ): ScalingActivity {
    const now = new Date(this.clock.now()).toISOString();
    const activity: ScalingActivity = {
      activityId: `${this.clock.now().toString(36)}-${++this.seq}`,
      autoScalingGroupName: group.name,
      kind,
      reason,
      description,
      cause: `At ${now} ${cause}.`,
      startTime: now,
      statusCode: "InProgress",
      instanceId,
    };
    this.activities.push(activity);
    this.onActivity(activity);
    return activity;
  }

  private finish(activity: ScalingActivity, status: "Successful" | "Failed", message?: string): void {
    activity.statusCode = status;
    activity.endTime = new Date(this.clock.now()).toISOString();
    if (message) activity.cause += ` ${message}`;
    this.onActivity(activity);
  }
}
