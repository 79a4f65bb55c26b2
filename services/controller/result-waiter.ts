/**
 * Synchronous callers wait here for their result. One subscriber connection listens on the results
 * channel for the whole controller and hands each result to the request waiting for that id: no
 * polling loop per request. Because pub/sub drops what is published while disconnected, every waiter
 * re-reads its result after a reconnect and once more before it gives up. Several requests may wait
 * for one invocation (repeats of an Idempotency-Key attach to it): each gets the result.
 *
 * The channel is input like any other: a message longer than MAX_RESULT_MESSAGE_CHARS is dropped
 * unparsed, and only what validates as an InvocationResult goes further.
 */
import { Redis } from "ioredis";
import { InvocationResult, RESULT_INLINE_BYTES, ResultNotice } from "../../contracts";
import { InvocationStore, RESULTS_CHANNEL } from "../common/invocation-store";
import { Logger } from "../common/logger";

/**
 * Results over RESULT_INLINE_BYTES come as a notice and are read from the store; what is published
 * inline (the result, its logs capped at 16 KiB, ids, error) fits well within this.
 */
export const MAX_RESULT_MESSAGE_CHARS = RESULT_INLINE_BYTES + 256 * 1024;

interface Waiter {
  resolve: (result: InvocationResult | undefined) => void;
  timer: NodeJS.Timeout;
}

export class ResultWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private count = 0;

  constructor(
    private readonly subscriber: Redis,
    private readonly store: Pick<InvocationStore, "getResult">,
    private readonly log: Logger,
    private readonly onResult: (result: InvocationResult) => void = () => undefined,
    private readonly onInvalid: () => void = () => undefined,
  ) {
    subscriber.on("message", (_channel: string, message: string) => {
      this.handle(message);
    });
    subscriber.on("ready", () => void this.recheckAll());
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(RESULTS_CHANNEL);
  }

  /** Requests waiting, over all invocations. */
  get size(): number {
    return this.count;
  }

  /** Register before the task is enqueued, so a fast result cannot slip past. Resolves undefined on timeout. */
  wait(id: string, timeoutMs: number): Promise<InvocationResult | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, timer: setTimeout(() => void this.expire(id, waiter), timeoutMs) };
      let set = this.waiters.get(id);
      if (set === undefined) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
      this.count++;
    });
  }

  /** Ends every wait for `id` with undefined (its task was never enqueued). */
  cancel(id: string): void {
    for (const waiter of this.take(id)) {
      clearTimeout(waiter.timer);
      waiter.resolve(undefined);
    }
  }

  /** Hands a result read elsewhere (from the store, by a request that attached late) to everyone waiting for it. */
  deliver(result: InvocationResult): void {
    this.settle(result.invocationId, result);
  }

  close(): void {
    for (const id of [...this.waiters.keys()]) this.cancel(id);
    this.subscriber.disconnect();
  }

  private handle(message: string): void {
    if (message.length > MAX_RESULT_MESSAGE_CHARS) {
      this.log.warn({ chars: message.length }, "ignoring an oversized result message");
      this.onInvalid();
      return;
    }
    let result: InvocationResult;
    try {
      const parsed = JSON.parse(message) as unknown;
      const notice = ResultNotice.safeParse(parsed);
      if (notice.success) {
        void this.fetchStored(notice.data.invocationId);
        return;
      }
      result = InvocationResult.parse(parsed);
    } catch (err) {
      this.log.warn({ err: String(err).slice(0, 300) }, "ignoring malformed result message");
      this.onInvalid();
      return;
    }
    this.onResult(result);
    this.settle(result.invocationId, result);
  }

  /** A large result: read it from the store (a notice for an id with no result there is ignored). */
  private async fetchStored(id: string): Promise<void> {
    const result = await this.store.getResult(id).catch(() => undefined);
    if (result === undefined) {
      this.onInvalid();
      return;
    }
    this.onResult(result);
    this.settle(id, result);
  }

  private settle(id: string, result: InvocationResult): void {
    for (const waiter of this.take(id)) {
      clearTimeout(waiter.timer);
      waiter.resolve(result);
    }
  }

  private take(id: string): Set<Waiter> {
    const set = this.waiters.get(id);
    if (set === undefined) return new Set();
    this.waiters.delete(id);
    this.count -= set.size;
    return set;
  }

  /** One waiter's time ran out: one last look in the store, then it alone ends. */
  private async expire(id: string, waiter: Waiter): Promise<void> {
    const last = await this.store.getResult(id).catch(() => undefined);
    const set = this.waiters.get(id);
    if (set === undefined || !set.delete(waiter)) return;
    this.count--;
    if (set.size === 0) this.waiters.delete(id);
    waiter.resolve(last);
  }

  private async recheckAll(): Promise<void> {
    for (const id of [...this.waiters.keys()]) {
      const result = await this.store.getResult(id).catch(() => undefined);
      if (result !== undefined) this.settle(id, result);
    }
  }
}
