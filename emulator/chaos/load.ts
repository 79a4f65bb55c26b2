/**
 * Steady mixed load through the Elastic IP: synchronous and asynchronous invocations of a function
 * whose results can be checked (`{ doubled: n * 2 }`), at fixed rates, each request recorded.
 * Bounded: it runs until stopped and never has more than `maxInFlight` requests open.
 */
import { z } from "zod";
import { PlatformClient, PlatformError, PlatformUnreachableError } from "../../client/platform-client";
import { ErrorBody } from "../../contracts";

export interface RequestRecord {
  at: number;
  kind: "sync" | "async";
  n: number;
  status: number;
  latencyMs: number;
  invocationId?: string;
  correct?: boolean;
  error?: string;
}

/** The function every chaos request invokes, by this name. */
export const CHAOS_FUNCTION = "chaos";

export const CHECKABLE_FUNCTION = `exports.handler = async (event) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { doubled: event.n * 2 };
};`;

/** What CHECKABLE_FUNCTION returns: its own small contract. */
export const Doubled = z.object({ doubled: z.number() });

/** Whether `result` is what CHECKABLE_FUNCTION returns for `n`. */
export const isDoubled = (result: unknown, n: number): boolean =>
  Doubled.safeParse(result).data?.doubled === n * 2;

export interface LoadOptions {
  /** Through the Elastic IP; its request limit bounds each request (a minute by default). */
  client: Pick<PlatformClient, "invoke" | "invokeAsync">;
  functionName: string;
  syncPerSecond: number;
  asyncPerSecond: number;
  maxInFlight?: number;
}

export class LoadGenerator {
  readonly records: RequestRecord[] = [];
  private timers: NodeJS.Timeout[] = [];
  private inFlight = 0;
  private n = 0;
  private readonly open = new Set<Promise<void>>();

  constructor(private readonly o: LoadOptions) {}

  start(): void {
    const every = (perSecond: number, kind: "sync" | "async") => {
      if (perSecond <= 0) return;
      this.timers.push(setInterval(() => this.fire(kind), 1000 / perSecond));
    };
    every(this.o.syncPerSecond, "sync");
    every(this.o.asyncPerSecond, "async");
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.allSettled([...this.open]);
  }

  /** Records in [from, to). */
  between(from: number, to: number): RequestRecord[] {
    return this.records.filter((r) => r.at >= from && r.at < to);
  }

  private fire(kind: "sync" | "async"): void {
    if (this.inFlight >= (this.o.maxInFlight ?? 64)) return;
    this.inFlight++;
    const p = this.request(kind).finally(() => {
      this.inFlight--;
      this.open.delete(p);
    });
    this.open.add(p);
  }

  private async request(kind: "sync" | "async"): Promise<void> {
    const n = ++this.n;
    const started = performance.now();
    const record: RequestRecord = { at: Date.now(), kind, n, status: 0, latencyMs: 0 };
    try {
      if (kind === "async") {
        record.invocationId = (await this.o.client.invokeAsync(this.o.functionName, { n })).invocationId;
        record.status = 202;
      } else {
        const outcome = await this.o.client.invoke(this.o.functionName, { n });
        record.status = outcome.status;
        record.invocationId = outcome.invocationId;
        if (outcome.status === 200) record.correct = isDoubled(outcome.body, n);
        // A function error is an outcome of the invocation, and a failed request all the same.
        else record.error = ErrorBody.safeParse(outcome.body).data?.error.code ?? `HTTP ${outcome.status}`;
      }
    } catch (err) {
      Object.assign(record, failure(err));
    }
    record.latencyMs = performance.now() - started;
    this.records.push(record);
  }
}

/** How a request that got no invocation outcome is recorded. */
export function failure(err: unknown): Pick<RequestRecord, "status" | "error" | "invocationId"> {
  if (err instanceof PlatformError)
    return { status: err.status, error: err.code ?? `HTTP ${err.status}`, invocationId: err.invocationId };
  if (err instanceof PlatformUnreachableError) {
    const timedOut = err.cause instanceof Error && err.cause.name === "TimeoutError";
    return { status: 0, error: timedOut ? "client timeout" : "connection failed" };
  }
  return { status: 0, error: err instanceof Error ? err.name : "failed" };
}
