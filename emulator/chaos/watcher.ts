/**
 * A probe repeated from a chosen moment (the fault, usually) until stopped, each answer kept with the
 * time it was sent and the time it came back. Marks are read from these records afterwards, so a figure
 * says when the system changed, not when a scenario got round to looking: watchers run side by side,
 * and the order in which a scenario checks things changes no timestamp.
 */
import { NotYet, waitFor } from "../wait";

/** One answer: `ok` with the probe's value, or why the condition did not hold. */
export type Observation<T> =
  | { sentAt: number; at: number; ok: true; value: T }
  | { sentAt: number; at: number; ok: false; reason: string };

/** Answers a value when the condition holds, a NotYet (or throws) when it does not. */
export type Probe<T> = (signal: AbortSignal) => Promise<T | NotYet>;

export interface WatchOptions {
  /** Pause between the start of one probe and the next. */
  intervalMs: number;
  /**
   * Probes allowed in flight at once (default 1). Above 1, a probe that hangs (an invocation whose
   * message went to a worker that just died) does not blind the watcher for as long as it hangs.
   */
  maxInFlight?: number;
  now?: () => number;
}

export class Watcher<T> {
  readonly observations: Observation<T>[] = [];
  private readonly abort = new AbortController();
  private readonly open = new Set<Promise<void>>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly what: string,
    private readonly probe: Probe<T>,
    private readonly options: WatchOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  start(): this {
    this.fire();
    this.timer = setInterval(() => this.fire(), this.options.intervalMs);
    return this;
  }

  /** The first answer, in the order answers came back, that satisfies `holds`. */
  first(holds: (o: Observation<T>) => boolean): Observation<T> | undefined {
    return this.observations.find(holds);
  }

  /** Waits until an answer satisfies `holds`; undefined when none did within `timeoutMs`. */
  async until(holds: (o: Observation<T>) => boolean, timeoutMs: number): Promise<Observation<T> | undefined> {
    return waitFor(this.what, () => this.first(holds), { timeoutMs, intervalMs: 50 }).catch(() => undefined);
  }

  /** Waits until the answers so far satisfy `holds`; whether they did within `timeoutMs`. */
  async untilAll(holds: (all: readonly Observation<T>[]) => boolean, timeoutMs: number): Promise<boolean> {
    return waitFor(this.what, () => holds(this.observations), { timeoutMs, intervalMs: 50 }).catch(
      () => false,
    );
  }

  /** Stops probing; probes still in flight are cancelled and not recorded (their answer is unknown). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.open]);
  }

  private fire(): void {
    if (this.abort.signal.aborted || this.open.size >= (this.options.maxInFlight ?? 1)) return;
    const sentAt = this.now();
    const run = this.probe(this.abort.signal)
      .then(
        (answer): Observation<T> =>
          answer instanceof NotYet
            ? { sentAt, at: this.now(), ok: false, reason: answer.reason }
            : { sentAt, at: this.now(), ok: true, value: answer },
        (err: unknown): Observation<T> => ({
          sentAt,
          at: this.now(),
          ok: false,
          reason: err instanceof Error ? err.message : String(err),
        }),
      )
      .then((observation) => {
        if (!this.abort.signal.aborted) this.observations.push(observation);
      })
      .finally(() => this.open.delete(run));
    this.open.add(run);
  }
}
