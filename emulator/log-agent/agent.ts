/**
 * The emulated CloudWatch agent: for each file of its configuration, follows the file (file-tail.ts),
 * cuts batches as the agent does (batcher.ts) and ships them with PutLogEvents to the configured group,
 * in a stream it creates when missing. One call in flight per file, so the order in the stream is the
 * order in the file. After each accepted batch it records the offset past its last line in a state
 * file (as the agent's `logs/state/` does): an agent started again resumes there instead of shipping
 * the file twice. A failed call is tried again, with backoff, until it goes through.
 *
 * `stop()` is SIGTERM on an instance being shut down: read the files to their end (a last line without
 * its newline included), send everything, record the offsets. Nothing else flushes early: what was
 * read but not sent when the agent is killed outright (the instance lost, not shut down) is lost — at
 * most `force_flush_interval` of lines, plus what had not been read yet (one poll).
 *
 * Where this differs from the real agent: files are polled (every 200 ms by default) rather than
 * watched; a call that keeps failing is tried until shutdown, where the agent gives up after a while.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import { Backoff } from "../../services/common/backoff";
import { AgentConfig, CollectedFile } from "./agent-config";
import { Batch, LogBatcher } from "./batcher";
import { FileTail } from "./file-tail";

export interface LogAgentOptions {
  config: AgentConfig;
  logs: CloudWatchLogsClient;
  /** Where offsets are recorded, one file per collected log file. */
  stateDir: string;
  pollMs?: number;
  /** How long `stop()` keeps trying to send what is left. */
  stopDeadlineMs?: number;
  now?: () => number;
  onWarning?: (message: string, detail: Record<string, unknown>) => void;
}

export interface AgentStats {
  linesRead: number;
  eventsShipped: number;
  bytesShipped: number;
  putCalls: number;
  failedCalls: number;
}

export class LogAgent {
  private readonly shippers: FileShipper[];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  readonly stats: AgentStats = {
    linesRead: 0,
    eventsShipped: 0,
    bytesShipped: 0,
    putCalls: 0,
    failedCalls: 0,
  };

  constructor(private readonly o: LogAgentOptions) {
    mkdirSync(o.stateDir, { recursive: true });
    this.shippers = o.config.files.map((file) => new FileShipper(file, o, this.stats));
  }

  start(): void {
    const pollMs = this.o.pollMs ?? 200;
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick(false));
    }, pollMs);
  }

  /** One round: read what is new, send what is due. */
  tick(final: boolean): Promise<void> {
    return Promise.all(this.shippers.map((s) => s.tick(final))).then(() => undefined);
  }

  /** SIGTERM: everything read and sent, within the deadline; the offsets recorded. */
  async stop(): Promise<AgentStats> {
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    const deadline = (this.o.now ?? Date.now)() + (this.o.stopDeadlineMs ?? 10_000);
    await Promise.all(this.shippers.map((s) => s.finish(deadline)));
    for (const s of this.shippers) s.close();
    return this.stats;
  }
}

class FileShipper {
  private readonly tail: FileTail;
  private readonly batcher: LogBatcher;
  private readonly stateFile: string;
  private streamReady = false;
  private retryAt = 0;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
  private lastTimestamp = 0;

  constructor(
    private readonly file: CollectedFile,
    private readonly o: LogAgentOptions,
    private readonly stats: AgentStats,
  ) {
    this.stateFile = path.join(o.stateDir, file.filePath.replace(/[^\w.-]/g, "_"));
    this.tail = new FileTail(file.filePath, readState(this.stateFile));
    this.batcher = new LogBatcher(o.config.forceFlushIntervalMs);
  }

  async tick(final: boolean): Promise<void> {
    const now = this.now();
    for (const line of final ? this.tail.drain() : this.tail.read()) {
      this.stats.linesRead++;
      this.batcher.add(line.text, this.timestampOf(line.text, now), line.endOffset, now);
    }
    if (now < this.retryAt) return;
    for (let batch = this.batcher.take(now, final); batch; batch = this.batcher.take(now, final)) {
      if (!(await this.send(batch))) {
        this.batcher.putBack(batch);
        this.retryAt = this.now() + this.backoff.next();
        return;
      }
      this.backoff.reset();
    }
  }

  /** Sends everything left, trying again until the deadline. */
  async finish(deadline: number): Promise<void> {
    await this.tick(true);
    while (this.batcher.pending > 0 && this.now() < deadline) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Math.min(200, this.retryAt - this.now()))),
      );
      await this.tick(true);
    }
  }

  close(): void {
    this.tail.close();
  }

  private timestampOf(line: string, readAt: number): number {
    return this.file.timestampOf?.(line) ?? Math.max(readAt, this.lastTimestamp);
  }

  private async send(batch: Batch): Promise<boolean> {
    try {
      if (!this.streamReady) await this.createStream();
      try {
        await this.put(batch);
      } catch (err) {
        // The stream was deleted under us (or never made it): make it and try once more.
        if (!(err instanceof ResourceNotFoundException)) throw err;
        await this.createStream();
        await this.put(batch);
      }
    } catch (err) {
      this.stats.failedCalls++;
      this.o.onWarning?.("PutLogEvents failed; will try again", {
        group: this.file.logGroupName,
        stream: this.file.logStreamName,
        events: batch.events.length,
        err: String(err),
      });
      return false;
    }
    this.stats.eventsShipped += batch.events.length;
    this.stats.bytesShipped += batch.bytes;
    this.lastTimestamp = batch.events.at(-1)?.timestamp ?? this.lastTimestamp;
    writeState(this.stateFile, { offset: batch.endOffset, ino: this.tail.position.ino });
    return true;
  }

  private async put(batch: Batch): Promise<void> {
    this.stats.putCalls++;
    const answer = await this.o.logs.send(
      new PutLogEventsCommand({
        logGroupName: this.file.logGroupName,
        logStreamName: this.file.logStreamName,
        logEvents: batch.events,
      }),
    );
    const rejected = answer.rejectedLogEventsInfo;
    if (rejected !== undefined && Object.keys(rejected).length > 0)
      this.o.onWarning?.("CloudWatch rejected events of a batch", { ...rejected });
  }

  private async createStream(): Promise<void> {
    await this.o.logs
      .send(
        new CreateLogStreamCommand({
          logGroupName: this.file.logGroupName,
          logStreamName: this.file.logStreamName,
        }),
      )
      .catch((err: unknown) => {
        if ((err as { name?: string }).name !== "ResourceAlreadyExistsException") throw err;
      });
    this.streamReady = true;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}

interface State {
  offset: number;
  ino?: number;
}

function readState(file: string): State {
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as Partial<State>;
    return typeof state.offset === "number" ? { offset: state.offset, ino: state.ino } : { offset: 0 };
  } catch {
    return { offset: 0 };
  }
}

function writeState(file: string, state: State): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(state));
  renameSync(`${file}.tmp`, file);
}
