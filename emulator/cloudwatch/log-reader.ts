/**
 * Reading a log group back, the same calls against AWS and against the local cloud's moto: every
 * stream of the group (terminated instances' included) through FilterLogEvents, merged in time order;
 * the group's metric filters through DescribeMetricFilters, evaluated here (metric-filter.ts) because
 * moto never evaluates them and answers every event to a JSON pattern. Sorted here: moto answers
 * stream after stream (AWS interleaves them). Used by `faas logs`, `faas fn
 * logs`, the chaos report and the tests.
 */
import {
  CloudWatchLogsClient,
  DescribeMetricFiltersCommand,
  FilterLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { compileFilterPattern, FilterPattern } from "./metric-filter";

export interface ReadEvent {
  timestamp: number;
  /** The stream: the instance id, for the platform's groups. */
  stream: string;
  message: string;
  eventId: string;
  ingestionTime: number | undefined;
}

export interface ReadOptions {
  group: string;
  /** Only these streams (instance ids); all when absent. */
  streams?: string[];
  startTime?: number;
  endTime?: number;
  /** Sent to CloudWatch as it is; the caller evaluates JSON patterns itself (moto does not). */
  filterPattern?: string;
  /** Gives up (the read rejects) when this aborts. */
  abortSignal?: AbortSignal;
}

/** Every event of the group in the window, oldest first. */
export async function readEvents(client: CloudWatchLogsClient, o: ReadOptions): Promise<ReadEvent[]> {
  const out: ReadEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new FilterLogEventsCommand({
        logGroupName: o.group,
        logStreamNames: o.streams !== undefined && o.streams.length > 0 ? o.streams : undefined,
        startTime: o.startTime,
        endTime: o.endTime,
        filterPattern: o.filterPattern,
        nextToken,
        limit: 10_000,
      }),
      { abortSignal: o.abortSignal },
    );
    for (const e of page.events ?? [])
      out.push({
        timestamp: e.timestamp ?? 0,
        stream: e.logStreamName ?? "",
        message: e.message ?? "",
        eventId: e.eventId ?? "",
        ingestionTime: e.ingestionTime,
      });
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return out.sort(byTime);
}

/**
 * Oldest first. The agent's timestamps come from each line's own time to the second (the template's
 * `timestamp_format`), so events of one second are put in order by the line's own milliseconds (pino's
 * `"time"`), then kept in their stream's order.
 */
export function byTime(a: ReadEvent, b: ReadEvent): number {
  return a.timestamp - b.timestamp || ownTime(a) - ownTime(b);
}

/** The line's own time (pino's `"time"`, to the millisecond), else the event's timestamp. */
export function ownTime(e: ReadEvent): number {
  const iso = /"time":"([^"]+)"/.exec(e.message)?.[1];
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isNaN(t) ? e.timestamp : t;
}

export interface MetricFilterView {
  name: string;
  pattern: FilterPattern;
  metric: string;
}

/** The group's metric filters, as defined in CloudWatch (the Terraform, or the local cloud's setup). */
export async function metricFiltersOf(
  client: CloudWatchLogsClient,
  group: string,
  abortSignal?: AbortSignal,
): Promise<MetricFilterView[]> {
  const out: MetricFilterView[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new DescribeMetricFiltersCommand({ logGroupName: group, nextToken }), {
      abortSignal,
    });
    for (const f of page.metricFilters ?? []) {
      // moto filters by name prefix only when asked; keep this group's own.
      if (f.logGroupName !== undefined && f.logGroupName !== group) continue;
      const t = f.metricTransformations?.[0];
      out.push({
        name: f.filterName ?? "",
        pattern: compileFilterPattern(f.filterPattern ?? ""),
        metric: t === undefined ? "" : `${t.metricNamespace ?? ""}/${t.metricName ?? ""}`,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined && nextToken !== "");
  return out;
}

/**
 * New events as they arrive, for `--follow`. Each poll asks again for a window reaching `lookbackMs`
 * behind the newest event seen, because an agent ships a line up to its flush interval (5 s) after the
 * line's time: a later-shipped event of another stream still shows, once, by its id.
 */
export class LogFollower {
  private readonly seen = new Map<string, number>();
  private newest: number;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly o: ReadOptions,
    private readonly lookbackMs = 30_000,
  ) {
    this.newest = o.startTime ?? Date.now();
  }

  /** Marks events already shown (the first read) so they are not shown again. */
  markSeen(events: ReadEvent[]): void {
    for (const e of events) this.remember(e);
  }

  async poll(): Promise<ReadEvent[]> {
    const events = await readEvents(this.client, {
      ...this.o,
      startTime: Math.max(this.o.startTime ?? 0, this.newest - this.lookbackMs),
    });
    const fresh = events.filter((e) => !this.seen.has(key(e)));
    for (const e of fresh) this.remember(e);
    const horizon = this.newest - 2 * this.lookbackMs;
    for (const [k, t] of this.seen) if (t < horizon) this.seen.delete(k);
    return fresh;
  }

  private remember(e: ReadEvent): void {
    this.seen.set(key(e), e.timestamp);
    if (e.timestamp > this.newest) this.newest = e.timestamp;
  }
}

function key(e: ReadEvent): string {
  return `${e.stream}/${e.eventId}`;
}
