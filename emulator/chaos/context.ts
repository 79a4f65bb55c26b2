/**
 * What a scenario works with: the environment it breaks (through `ChaosTarget`, which names only what
 * chaos uses, so a fake can stand in for it), the platform's typed client, the steady load, the
 * settings, and the recorders for its fault window, marks, checks and watchers. Scenarios never see
 * the Environment class; run-chaos.ts hands one in, and it satisfies `ChaosTarget` as it is.
 */
import type { ReceiveMessageCommand, ReceiveMessageCommandOutput } from "@aws-sdk/client-sqs";
import type { PlatformClient } from "../../client/platform-client";
import type { ScalingActivity } from "../reconciler";
import type { Role } from "../backends/backend";
import type { LoadGenerator, RequestRecord } from "./load";
import type { ChaosSettings, MarkName } from "./result";
import type { Probe, Watcher, WatchOptions } from "./watcher";

export interface ChaosTarget {
  /** The Elastic IP, as clients reach it. */
  readonly endpoint: string;
  /** Instances of a role that are up (not terminated, not unhealthy). */
  live(role: Role): readonly { readonly instanceId: string }[];
  /** Every instance with its state (booting ones are "pending"). */
  list(): readonly { readonly instanceId: string; readonly role: Role; readonly state: string }[];
  kill(instanceId: string): void;
  pause(instanceId: string): void;
  resume(instanceId: string): void;
  /** A planned stop: the instance's service gets SIGTERM and drains, then the instance is terminated. */
  terminate(instanceId: string): Promise<void>;
  /** Undefined when Redis is external to the environment. */
  readonly redis: { restart(downMs?: number): Promise<void> } | undefined;
  /** The SQS endpoint the instances reach the queue through. */
  readonly queueEndpoint: { setCut(cut: boolean): void | Promise<void> };
  readonly reconciler: {
    list(): ScalingActivity[];
    group(name: string): { readonly desired: number } | undefined;
  };
  readonly clients: {
    readonly sqs: { send(command: ReceiveMessageCommand): Promise<ReceiveMessageCommandOutput> };
  };
  readonly resources: { readonly dlqUrl: string };
}

/** The calls chaos makes on the platform (PlatformClient, or a fake). */
export type ChaosClient = Pick<
  PlatformClient,
  "invoke" | "invokeAsync" | "getInvocation" | "workers" | "health"
>;

export interface Scenario<N extends string = string> {
  readonly name: N;
  readonly title: string;
  /** Injects the fault, records its window and marks, and adds the scenario's own checks. */
  run(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioContext {
  readonly target: ChaosTarget;
  readonly client: ChaosClient;
  readonly load: Pick<LoadGenerator, "between">;
  readonly settings: ChaosSettings;
  readonly fault: FaultWindow;
  readonly marks: MarkRecorder;
  log(line: string): void;
  check(name: string, ok: boolean, detail: string): void;
  /** An invocation the scenario made itself: followed to its end with the load's. */
  track(record: RequestRecord): void;
  /** The instance the fault hits: the report shows its last lines, as read back from CloudWatch Logs. */
  victim(role: Role, instanceId: string): void;
  /** Starts probing now; the watcher is stopped when the scenario ends, if not before. */
  watch<T>(what: string, probe: Probe<T>, options: WatchOptions): Watcher<T>;
}

/** When the fault began and ended (epoch milliseconds). */
export class FaultWindow {
  private began: number | undefined;
  private ended: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  begin(): number {
    this.began = this.now();
    return this.began;
  }

  /** The end is an event's time when the scenario knows it (the Elastic IP serving again), else now. */
  end(at?: number): number {
    this.ended = at ?? this.now();
    return this.ended;
  }

  get at(): number {
    if (this.began === undefined) throw new Error("the scenario recorded no fault");
    return this.began;
  }

  get endAt(): number | undefined {
    return this.ended;
  }
}

/** Marks as the events' own timestamps; the result shows them relative to the fault. */
export class MarkRecorder {
  private readonly times = new Map<MarkName, number>();

  /** Records when `name` happened; `undefined` (it did not happen) records nothing. */
  record(name: MarkName, at: number | undefined): void {
    if (at !== undefined) this.times.set(name, at);
  }

  get(name: MarkName): number | undefined {
    return this.times.get(name);
  }

  relativeTo(faultAt: number): Partial<Record<MarkName, number>> {
    return Object.fromEntries([...this.times].map(([name, at]) => [name, at - faultAt]));
  }
}

/** A watcher's probe must not hang for longer than this: it would blind the watcher. */
export const PROBE_LIMIT_MS = 2000;

/** `signal`, or `limitMs` passing, whichever comes first. */
export const within = (signal: AbortSignal, limitMs = PROBE_LIMIT_MS): AbortSignal =>
  AbortSignal.any([signal, AbortSignal.timeout(limitMs)]);
