/**
 * Steady mixed load through the Elastic IP: synchronous and asynchronous invocations of a function
 * whose results can be checked (`{ doubled: n * 2 }`), at fixed rates, each request recorded.
 * Bounded: it runs until stopped and never has more than `maxInFlight` requests open.
 */
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

export interface LoadOptions {
  endpoint: string;
  apiKey: string;
  functionName: string;
  syncPerSecond: number;
  asyncPerSecond: number;
  maxInFlight?: number;
  requestTimeoutMs?: number;
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
    const at = Date.now();
    const started = performance.now();
    const record: RequestRecord = { at, kind, n, status: 0, latencyMs: 0 };
    try {
      const res = await fetch(`${this.o.endpoint}/api/functions/${this.o.functionName}/invoke`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.o.apiKey}`,
          "content-type": "application/json",
          ...(kind === "async" ? { "x-invocation-type": "Event" } : {}),
        },
        body: JSON.stringify({ n }),
        signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 60_000),
      });
      record.status = res.status;
      const body = (await res.json().catch(() => undefined)) as
        | { invocationId?: string; doubled?: number; error?: { code?: string; invocationId?: string } }
        | undefined;
      record.invocationId =
        res.headers.get("x-invocation-id") ?? body?.invocationId ?? body?.error?.invocationId;
      if (kind === "sync" && res.status === 200) record.correct = body?.doubled === n * 2;
      if (!res.ok && res.status !== 202) record.error = body?.error?.code ?? `HTTP ${res.status}`;
    } catch (err) {
      record.error = (err as Error).name === "TimeoutError" ? "client timeout" : "connection failed";
    }
    record.latencyMs = performance.now() - started;
    this.records.push(record);
  }
}

export const CHECKABLE_FUNCTION = `exports.handler = async (event) => {
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return { doubled: event.n * 2 };
};`;
