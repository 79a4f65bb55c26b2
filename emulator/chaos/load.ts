/**
 * Steady mixed load through the Elastic IP: synchronous and asynchronous invocations of a function
 * whose results can be checked (`{ doubled: n * 2 }`), at fixed rates, each request recorded.
 * Bounded: it runs until stopped and never has more than `maxInFlight` requests open.
 *
 * It calls through the project's retrying client, as a user's service would: each record keeps what
 * the caller saw in the end (`error`) and how many raw attempts failed on the way (`retried`), so the
 * report shows both the platform's raw failures and the client-visible errors.
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
  /** What the caller saw in the end: the client's error, after its retries (undefined: success). */
  error?: string;
  /** HTTP attempts that failed and that the client retried (each one a raw failed request). */
  retried: number;
}

/** Raw failed requests of a record: the attempts retried, and the last one when it failed too. */
export const rawFailures = (r: RequestRecord): number => r.retried + (r.error === undefined ? 0 : 1);

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
  /** Through the Elastic IP, retrying within its deadline (a minute by default). */
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
    const record: RequestRecord = { at: Date.now(), kind, n, status: 0, latencyMs: 0, retried: 0 };
    const onRetry = () => {
      record.retried++;
    };
    try {
      if (kind === "async") {
        record.invocationId = (
          await this.o.client.invokeAsync(this.o.functionName, { n }, { onRetry })
        ).invocationId;
        record.status = 202;
      } else {
        const outcome = await this.o.client.invoke(this.o.functionName, { n }, { onRetry });
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
