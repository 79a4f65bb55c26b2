/**
 * SQS behind the TaskSource interface. Deletions go through a Batcher: they share DeleteMessageBatch
 * calls of up to ten, a full batch at once and one that is not after DELETE_LINGER_MS (a slow queue pays
 * for every call, and each delete scans the queue in moto).
 */
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Batcher } from "../common/batcher";
import { SqsHotCalls } from "../common/sqs-wire";
import { TaskMessage, TaskSource } from "./task-source";

/**
 * How long a deletion waits for others to share its DeleteMessageBatch. A message whose deletion is
 * still waiting stays hidden (its visibility timeout is far longer); if the worker dies meanwhile, the
 * message comes back once, finds its result and is deleted unrun. Each call saved is about 0.6 ms of
 * the worker's CPU (the SDK) that would otherwise run beside the next invocation.
 */
export const DELETE_LINGER_MS = 20;

export interface SqsTaskSourceOptions {
  queueUrl: string;
  /** How long a received message stays hidden before another receiver may take it. */
  visibilityTimeoutS: number;
}

export class SqsTaskSource implements TaskSource {
  private readonly deleter: Batcher<string>;

  constructor(
    private readonly sqs: SQSClient,
    private readonly wire: SqsHotCalls,
    private readonly options: SqsTaskSourceOptions,
  ) {
    this.deleter = new Batcher<string>({
      maxEntries: 10,
      maxInFlight: 2,
      // Nobody waits for a deletion: at a low rate, those of the next DELETE_LINGER_MS share a call.
      lingerMs: DELETE_LINGER_MS,
      flush: (handles) => this.deleteBatch(handles),
    });
  }

  async receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<TaskMessage[]> {
    const out = await this.wire.receiveMessage(
      {
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.options.visibilityTimeoutS,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      },
      signal,
    );
    const messages: TaskMessage[] = [];
    // SQS always sends a receipt handle; a message without one could not be changed or deleted anyway.
    for (const m of out.Messages ?? []) {
      if (m.ReceiptHandle === undefined) continue;
      messages.push({
        body: m.Body,
        receipt: m.ReceiptHandle,
        receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        messageId: m.MessageId,
      });
    }
    return messages;
  }

  async extendVisibility(receipt: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl,
        ReceiptHandle: receipt,
        VisibilityTimeout: seconds,
      }),
    );
  }

  delete(receipt: string): Promise<void> {
    return this.deleter.add(receipt);
  }

  drain(): Promise<void> {
    return this.deleter.drain();
  }

  private async deleteBatch(handles: string[]): Promise<(Error | undefined)[]> {
    const out = await this.wire.deleteMessageBatch({
      QueueUrl: this.options.queueUrl,
      Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
    });
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    return handles.map((_, i) => (failed.has(String(i)) ? new Error("delete refused") : undefined));
  }
}
