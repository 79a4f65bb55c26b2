/**
 * SQS behind the TaskQueue interface. Sends go through a Batcher: alone, a task is sent at once; under
 * load, tasks share SendMessageBatch calls of up to ten (moto manages about 70 single sends a second,
 * several hundred in batches).
 *
 * Every way a task can fail to get onto the queue is a QueueUnavailableError: SendMessageBatch throwing
 * (the network, or SQS refusing the call: a missing queue, no permission, throttling after the SDK's
 * retries), an entry SQS lists as failed, or a task too large for an SQS message. Each means the same
 * to the caller: nothing was accepted. The SDK's error stays as the `cause`.
 */
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { InvocationTask } from "../../contracts";
import { Batcher } from "../common/batcher";
import { Logger } from "../common/logger";
import { SqsHotCalls } from "../common/sqs-wire";
import { QueueUnavailableError } from "./errors";
import { TaskQueue } from "./task-queue";

export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface SqsTaskQueueOptions {
  queueUrl: string;
  maxInFlightBatches?: number;
  depthSampleMs?: number;
  onSendLatency?: (seconds: number, entries: number) => void;
}

export class SqsTaskQueue implements TaskQueue {
  private readonly batcher: Batcher<string>;
  private depth: number | undefined;
  private readonly depthTimer: NodeJS.Timeout;

  constructor(
    private readonly sqs: SQSClient,
    private readonly wire: SqsHotCalls,
    private readonly options: SqsTaskQueueOptions,
    private readonly log: Logger,
  ) {
    this.batcher = new Batcher<string>({
      maxEntries: 10,
      maxInFlight: options.maxInFlightBatches ?? 2,
      sizeOf: (body) => Buffer.byteLength(body),
      maxBytes: MAX_MESSAGE_BYTES,
      flush: (bodies) => this.sendBatch(bodies),
    });
    this.depthTimer = setInterval(() => void this.sampleDepth(), options.depthSampleMs ?? 2000);
    this.depthTimer.unref();
    void this.sampleDepth();
  }

  async send(task: InvocationTask): Promise<void> {
    const body = JSON.stringify(task);
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      throw new QueueUnavailableError("the task exceeds the SQS message size limit of 256 KiB");
    }
    await this.batcher.add(body);
  }

  approximateDepth(): number | undefined {
    return this.depth;
  }

  async close(): Promise<void> {
    clearInterval(this.depthTimer);
    await this.batcher.drain();
  }

  private async sendBatch(bodies: string[]): Promise<(Error | undefined)[]> {
    const started = performance.now();
    try {
      const out = await this.wire.sendMessageBatch({
        QueueUrl: this.options.queueUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      });
      this.options.onSendLatency?.((performance.now() - started) / 1000, bodies.length);
      const failed = new Map((out.Failed ?? []).map((f) => [f.Id, f]));
      return bodies.map((_, i) => {
        const failure = failed.get(String(i));
        return failure === undefined
          ? undefined
          : new QueueUnavailableError(
              `the queue refused the task: ${failure.Code ?? "?"} ${failure.Message ?? ""}`,
            );
      });
    } catch (err) {
      this.log.warn({ err: String(err), entries: bodies.length }, "queue send failed");
      return bodies.map(
        () => new QueueUnavailableError(`the queue is unreachable: ${String(err)}`, { cause: err }),
      );
    }
  }

  private async sampleDepth(): Promise<void> {
    try {
      const out = await this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.options.queueUrl,
          AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        }),
      );
      const attrs = out.Attributes ?? {};
      this.depth =
        Number(attrs.ApproximateNumberOfMessages ?? 0) +
        Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0);
    } catch (err) {
      this.log.debug({ err: String(err) }, "queue depth sample failed");
    }
  }
}
