/**
 * Batches calls without waiting for a timer: an item goes out at once while fewer than `maxInFlight`
 * batches are under way, and otherwise joins the next batch. One caller alone pays one request's
 * latency; many callers share batch requests (SQS takes ten entries per SendMessageBatch or
 * DeleteMessageBatch), which is what lets a slow queue carry hundreds of tasks a second.
 *
 * With `lingerMs`, for items nobody waits on (deletions), a batch that is not full waits up to that
 * long for more before it goes: a full one still goes at once. Fewer requests at a low, steady rate.
 */
export interface BatcherOptions<T> {
  maxEntries: number;
  maxInFlight: number;
  /** How long a batch that is not full waits for more items (default 0: it goes at once). */
  lingerMs?: number;
  /** Size of one item, to keep a batch under `maxBytes` (for SQS, 256 KiB per batch). */
  sizeOf?: (item: T) => number;
  maxBytes?: number;
  /** Sends one batch; returns, per item in order, undefined for success or the error for that item. */
  flush: (items: T[]) => Promise<(Error | undefined)[]>;
}

interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Batcher<T> {
  private readonly pending: Pending<T>[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Set while items linger: when it fires, they go even if the batch is not full. */
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: BatcherOptions<T>) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Flushes what lingers now, and resolves once everything added so far has been flushed. */
  drain(): Promise<void> {
    this.pump(true);
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(now = false): void {
    const { maxEntries, maxInFlight, sizeOf, maxBytes = Infinity, lingerMs = 0 } = this.options;
    if (!now && lingerMs > 0 && this.pending.length > 0 && this.pending.length < maxEntries) {
      this.lingerTimer ??= setTimeout(() => {
        this.lingerTimer = undefined;
        this.pump(true);
      }, lingerMs);
      return;
    }
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    while (this.pending.length > 0 && this.inFlight < maxInFlight) {
      const batch: Pending<T>[] = [];
      let bytes = 0;
      for (
        let next = this.pending[0];
        next !== undefined && batch.length < maxEntries;
        next = this.pending[0]
      ) {
        const size = sizeOf?.(next.item) ?? 0;
        if (batch.length > 0 && bytes + size > maxBytes) break;
        batch.push(next);
        bytes += size;
        this.pending.shift();
      }
      this.inFlight += 1;
      void this.send(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
        if (this.pending.length === 0 && this.inFlight === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async send(batch: Pending<T>[]): Promise<void> {
    try {
      const outcomes = await this.options.flush(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        const err = outcomes[i];
        if (err === undefined) p.resolve();
        else p.reject(err);
      });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(error);
    }
  }
}
