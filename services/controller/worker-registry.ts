/**
 * The in-memory registry of workers, fed only by their heartbeats. A worker silent for longer than
 * `deadAfterMs` is removed; a controller that has been up for less than one heartbeat interval (plus a
 * margin) says its registry is still filling, because workers have not all had their turn to report.
 */
import { Heartbeat, WorkerList, WorkerView } from "../../contracts";
import { Logger } from "../common/logger";

interface Entry extends Heartbeat {
  lastSeen: number;
  registeredAt: number;
}

export interface RegistryOptions {
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  now?: () => number;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, Entry>();
  private readonly bootedAt: number;
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: RegistryOptions,
    private readonly log: Logger,
    private readonly onChange: (count: number) => void = () => undefined,
  ) {
    this.now = options.now ?? Date.now;
    this.bootedAt = this.now();
  }

  start(): void {
    const every = Math.max(10, Math.min(1000, Math.floor(this.options.deadAfterMs / 10)));
    this.sweeper = setInterval(() => {
      this.sweep();
    }, every);
    this.sweeper.unref();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  heartbeat(beat: Heartbeat): "new" | "known" {
    const now = this.now();
    const known = this.workers.get(beat.workerId);
    this.workers.set(beat.workerId, { ...beat, lastSeen: now, registeredAt: known?.registeredAt ?? now });
    if (known === undefined) {
      this.log.info({ workerId: beat.workerId, instanceId: beat.instanceId }, "worker registered");
      this.onChange(this.workers.size);
      return "new";
    }
    return "known";
  }

  sweep(): void {
    const now = this.now();
    for (const [id, entry] of this.workers) {
      if (now - entry.lastSeen > this.options.deadAfterMs) {
        this.workers.delete(id);
        this.log.warn(
          { workerId: id, instanceId: entry.instanceId, silentMs: now - entry.lastSeen },
          "worker missed its heartbeats: removed",
        );
        this.onChange(this.workers.size);
      }
    }
  }

  get count(): number {
    return this.workers.size;
  }

  filling(): boolean {
    return this.now() - this.bootedAt < this.options.heartbeatIntervalMs * 1.5;
  }

  list(controllerInstanceId: string): WorkerList {
    this.sweep();
    const now = this.now();
    const workers: WorkerView[] = [...this.workers.values()]
      .sort((a, b) => a.workerId.localeCompare(b.workerId))
      .map((w) => ({
        workerId: w.workerId,
        instanceId: w.instanceId,
        status: "alive",
        secondsSinceHeartbeat: Math.round((now - w.lastSeen) / 100) / 10,
        slotsTotal: w.slotsTotal,
        slotsInUse: w.slotsInUse,
        coldStarts: w.coldStarts,
        warmStarts: w.warmStarts,
        registeredAt: w.registeredAt,
        sandbox: w.sandbox,
      }));
    return {
      controllerInstanceId,
      filling: this.filling(),
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      deadAfterMs: this.options.deadAfterMs,
      workers,
    };
  }
}
