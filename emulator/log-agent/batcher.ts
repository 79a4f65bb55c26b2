/**
 * The agent's batches, as the CloudWatch agent cuts them for PutLogEvents: at most 10 000 events and
 * 1 048 576 bytes per call (each event counts its UTF-8 message plus 26 bytes), at most 24 hours
 * between its first and last event, and sent no later than `force_flush_interval` (5 s by default)
 * after its first event was read. An event over CloudWatch's 256 KiB limit is truncated with the
 * agent's "[Truncated...]" suffix rather than rejected; an empty line is skipped (CloudWatch refuses
 * empty messages). Each batch carries the file offset just past its last line, so the agent records
 * an offset only once everything before it was accepted. Pure: no I/O, time given by the caller.
 */

export const PUT_LIMITS = {
  maxEvents: 10_000,
  maxBatchBytes: 1_048_576,
  eventOverheadBytes: 26,
  /** CloudWatch's limit for one event, overhead included. */
  maxEventBytes: 262_144,
  maxSpanMs: 24 * 3600_000,
} as const;

export const TRUNCATED_SUFFIX = "[Truncated...]";

export interface LogEvent {
  timestamp: number;
  message: string;
}

export interface Batch {
  events: LogEvent[];
  bytes: number;
  /** The file offset just past the last line in the batch: where to resume once it is accepted. */
  endOffset: number;
  /** When its first event was read: the batch is due `flushIntervalMs` later. */
  openedAt: number;
  minTimestamp: number;
  maxTimestamp: number;
}

export class LogBatcher {
  private open: Batch | undefined;
  private readonly ready: Batch[] = [];
  private lastOffset = 0;

  constructor(
    private readonly flushIntervalMs: number,
    private readonly limits = PUT_LIMITS,
  ) {}

  /** Adds one line read from the file, ending at `endOffset`; `readAt` is the clock now. */
  add(line: string, timestamp: number, endOffset: number, readAt: number): void {
    this.lastOffset = endOffset;
    if (line === "") {
      if (this.open !== undefined) this.open.endOffset = endOffset;
      return;
    }
    const message = truncateEvent(line, this.limits.maxEventBytes - this.limits.eventOverheadBytes);
    const size = Buffer.byteLength(message, "utf8") + this.limits.eventOverheadBytes;
    const open = this.open;
    if (
      open !== undefined &&
      (open.events.length >= this.limits.maxEvents ||
        open.bytes + size > this.limits.maxBatchBytes ||
        Math.max(open.maxTimestamp, timestamp) - Math.min(open.minTimestamp, timestamp) >
          this.limits.maxSpanMs)
    )
      this.cut();
    this.open ??= {
      events: [],
      bytes: 0,
      endOffset,
      openedAt: readAt,
      minTimestamp: timestamp,
      maxTimestamp: timestamp,
    };
    this.open.minTimestamp = Math.min(this.open.minTimestamp, timestamp);
    this.open.maxTimestamp = Math.max(this.open.maxTimestamp, timestamp);
    this.open.events.push({ timestamp, message });
    this.open.bytes += size;
    this.open.endOffset = endOffset;
  }

  /** The next batch to send: a full one, or the open one once it is due (or `force`, at shutdown). */
  take(now: number, force = false): Batch | undefined {
    if (
      this.ready.length === 0 &&
      this.open !== undefined &&
      (force || now - this.open.openedAt >= this.flushIntervalMs)
    )
      this.cut();
    return this.ready.shift();
  }

  /** Puts a batch that could not be sent back in front, to be tried again first. */
  putBack(batch: Batch): void {
    this.ready.unshift(batch);
  }

  /** Events read and not yet handed out. */
  get pending(): number {
    return this.ready.reduce((n, b) => n + b.events.length, 0) + (this.open?.events.length ?? 0);
  }

  /** The offset past the last line added, shipped or not (skipped empty lines included). */
  get readOffset(): number {
    return this.lastOffset;
  }

  private cut(): void {
    if (this.open === undefined) return;
    // PutLogEvents takes a batch in chronological order; a line's own timestamp may be older than
    // the line before it. Stable, so lines of the same second keep their order in the file.
    this.open.events.sort((a, b) => a.timestamp - b.timestamp);
    this.ready.push(this.open);
    this.open = undefined;
  }
}

/** The line cut to `maxBytes` of UTF-8 (suffix included), on a character boundary. */
export function truncateEvent(line: string, maxBytes: number): string {
  const bytes = Buffer.from(line, "utf8");
  if (bytes.length <= maxBytes) return line;
  let end = maxBytes - Buffer.byteLength(TRUNCATED_SUFFIX);
  // Back up to the start of a UTF-8 character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8") + TRUNCATED_SUFFIX;
}
