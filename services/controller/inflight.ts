/**
 * The invocations this controller accepted and has not seen a result for yet, per function. Two uses:
 * the per-function concurrency limit (`maxConcurrency`, like Lambda's reserved concurrency) and
 * attributing results to functions in the metrics (a result for an invocation this controller did not
 * accept cannot make up a label).
 *
 * The count lives in this process only: a new controller starts from zero and may admit up to
 * `maxConcurrency` more invocations while the previous controller's are still running (a brief
 * over-admission after a failover, never a block). Every entry expires, so a result this controller
 * never saw (pub/sub drops messages while disconnected; a controller restart loses them all) cannot
 * hold a slot forever; the caller chooses the expiry (see `inflightGraceMs` in http/deps.ts).
 */
interface Entry {
  fn: string;
  expiresAt: number;
}

export class InflightTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly byFunction = new Map<string, Set<string>>();
  private lastSweep = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly sweepEveryMs = 1000,
  ) {}

  /**
   * Counts `id` against `fn` and answers true, unless that would exceed `limit` (no limit: always
   * admitted). Synchronous
   * on purpose: check and count happen in one turn of the event loop, so two concurrent requests cannot
   * both take the last slot.
   */
  admit(id: string, fn: string, limit: number | undefined, ttlMs: number): boolean {
    this.sweepIfDue();
    if (limit !== undefined && this.count(fn) >= limit) return false;
    this.entries.set(id, { fn, expiresAt: this.now() + ttlMs });
    let ids = this.byFunction.get(fn);
    if (ids === undefined) this.byFunction.set(fn, (ids = new Set()));
    ids.add(id);
    return true;
  }

  /** Ends `id`'s entry; the function it was accepted for, or undefined if this controller did not accept it (or it expired). */
  release(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    this.remove(id, entry.fn);
    return entry.expiresAt > this.now() ? entry.fn : undefined;
  }

  /** Invocations of `fn` in flight now (expired entries are dropped on the way). */
  count(fn: string): number {
    const ids = this.byFunction.get(fn);
    if (ids === undefined) return 0;
    const now = this.now();
    for (const id of ids) {
      const entry = this.entries.get(id);
      if (entry === undefined || entry.expiresAt <= now) this.remove(id, fn);
    }
    return ids.size;
  }

  get size(): number {
    return this.entries.size;
  }

  private remove(id: string, fn: string): void {
    this.entries.delete(id);
    const ids = this.byFunction.get(fn);
    ids?.delete(id);
    if (ids?.size === 0) this.byFunction.delete(fn);
  }

  /** Drops expired entries of every function, at most once per `sweepEveryMs`, so memory stays bounded. */
  private sweepIfDue(): void {
    const now = this.now();
    if (now - this.lastSweep < this.sweepEveryMs) return;
    this.lastSweep = now;
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.remove(id, entry.fn);
  }
}
