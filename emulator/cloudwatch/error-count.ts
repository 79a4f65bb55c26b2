/**
 * The Error metric as `faas dev status` shows it: per log group, how many shipped lines its metric
 * filters count (the Terraform's `{ $.level >= 50 }` on the controller group), evaluated here because
 * moto stores filters and never evaluates them (metric-filter.ts), over the last hour.
 *
 * Counted incrementally, so a status call stays fast however long the environment has run: each call
 * reads only the events since the previous one (from `lookbackMs` before where it stopped, because an
 * agent ships a line up to its flush interval after the line's time; each event is counted once, by its
 * id), in time slices of at most `sliceMs`, and stops at `budgetMs` — the next call carries on from
 * there, and the answer says how far it got. Lines that fall out of the hour are no longer counted.
 * Unlike CloudWatch, which counts at ingestion, the filters are read again on every call and applied
 * to what is read from then on.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { metricFiltersOf, readEvents } from "./log-reader";

export interface GroupErrorCount {
  group: string;
  /** The group's metric filter patterns; none: the group has no Error metric, nothing is counted. */
  filters: string[];
  /** Counted lines with a timestamp in the last `windowMs`. */
  errorLines: number;
  windowMs: number;
  /** Events read up to this time (epoch ms); behind now when a call ran out of its budget. */
  countedUpTo: number;
  /** The newest counted line. */
  last?: { at: number; stream: string; message: string };
  /** Why the group could not be read this time (the counts are those of the last read). */
  unavailable?: string;
}

export interface ErrorCounterOptions {
  windowMs?: number;
  lookbackMs?: number;
  sliceMs?: number;
  /** How long one call may read before it answers with what it has. */
  budgetMs?: number;
  now?: () => number;
}

interface Counted {
  at: number;
  stream: string;
  message: string;
}

class GroupCounter {
  private readonly seen = new Map<string, number>();
  private counted: Counted[] = [];
  private readUpTo: number;

  constructor(
    readonly group: string,
    start: number,
  ) {
    this.readUpTo = start;
  }

  async update(
    client: CloudWatchLogsClient,
    o: Required<ErrorCounterOptions>,
    deadline: number,
  ): Promise<GroupErrorCount> {
    const now = o.now();
    const answer = (filters: string[], unavailable?: string): GroupErrorCount => {
      this.counted = this.counted.filter((c) => c.at > now - o.windowMs);
      return {
        group: this.group,
        filters,
        errorLines: this.counted.length,
        windowMs: o.windowMs,
        countedUpTo: this.readUpTo,
        last: this.counted.at(-1),
        unavailable,
      };
    };
    let filters: Awaited<ReturnType<typeof metricFiltersOf>> = [];
    try {
      const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
      filters = await metricFiltersOf(client, this.group, signal);
      if (filters.length === 0) {
        this.readUpTo = now;
        return answer([]);
      }
      let from = Math.max(now - o.windowMs, this.readUpTo - o.lookbackMs);
      while (from < now) {
        const to = Math.min(now, from + o.sliceMs);
        const events = await readEvents(client, {
          group: this.group,
          startTime: from,
          endTime: to,
          abortSignal: signal,
        });
        for (const e of events) {
          const key = `${e.stream}/${e.eventId}`;
          if (this.seen.has(key)) continue;
          this.seen.set(key, e.timestamp);
          if (filters.some((f) => f.pattern.matches(e.message)))
            this.counted.push({ at: e.timestamp, stream: e.stream, message: e.message });
        }
        this.readUpTo = Math.max(this.readUpTo, to);
        from = to;
        if (Date.now() >= deadline) break;
      }
      this.counted.sort((a, b) => a.at - b.at);
      // Ids are needed only as far back as the next read looks.
      for (const [key, at] of this.seen) if (at < this.readUpTo - 2 * o.lookbackMs) this.seen.delete(key);
      return answer(
        filters.map((f) => f.pattern.source),
        undefined,
      );
    } catch (err) {
      const reason =
        err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")
          ? `no answer within ${o.budgetMs} ms`
          : err instanceof Error
            ? `${err.name}: ${err.message}`
            : String(err);
      return answer(
        filters.map((f) => f.pattern.source),
        reason,
      );
    }
  }
}

export class ErrorLineCounter {
  private readonly o: Required<ErrorCounterOptions>;
  private readonly groups: GroupCounter[];
  private inFlight: Promise<GroupErrorCount[]> | undefined;

  constructor(
    private readonly client: CloudWatchLogsClient,
    groups: string[],
    options: ErrorCounterOptions = {},
  ) {
    this.o = {
      windowMs: options.windowMs ?? 3600_000,
      lookbackMs: options.lookbackMs ?? 30_000,
      sliceMs: options.sliceMs ?? 300_000,
      budgetMs: options.budgetMs ?? 2000,
      now: options.now ?? Date.now,
    };
    const start = this.o.now() - this.o.windowMs;
    this.groups = groups.map((g) => new GroupCounter(g, start));
  }

  /** Each group's count now; calls made while one is reading get its answer. */
  counts(): Promise<GroupErrorCount[]> {
    this.inFlight ??= this.update().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private update(): Promise<GroupErrorCount[]> {
    const deadline = Date.now() + this.o.budgetMs;
    return Promise.all(this.groups.map((g) => g.update(this.client, this.o, deadline)));
  }
}
