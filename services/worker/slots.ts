/**
 * The worker's execution slots. A poller reserves slots before it asks the queue for messages, so the
 * messages received never outnumber the slots free to run them (a received message's visibility
 * timeout is already ticking), even with several pollers in flight.
 */
export class Slots {
  private used = 0;
  private reserved = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly total: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Reserves up to `max` free slots (at least one), waiting while none is free. */
  async reserve(max: number, signal: AbortSignal): Promise<number> {
    while (this.total - this.used - this.reserved <= 0) {
      if (signal.aborted) return 0;
      // The abort listener goes when the wait ends: a long-lived signal would otherwise gather one per wait.
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.push(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
    const n = Math.min(max, this.total - this.used - this.reserved);
    this.reserved += n;
    return n;
  }

  /** Turns `taken` of `reservedCount` reserved slots into running ones and frees the rest. */
  settle(reservedCount: number, taken: number): void {
    this.reserved -= reservedCount;
    this.used += taken;
    if (taken < reservedCount) this.wake();
  }

  release(): void {
    this.used -= 1;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
