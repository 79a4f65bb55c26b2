/**
 * SQS behind the TaskSource interface. Deletions go through a Batcher: alone, a deletion is sent at
 * once; under load, they share DeleteMessageBatch calls of up to ten (a slow queue pays for every call,
 * and each delete scans the queue in moto).
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { Batcher } from "../common/batcher";
import { TaskMessage, TaskSource } from "./task-source";

export interface SqsTaskSourceOptions {
  queueUrl: string;
  /** How long a received message stays hidden before another receiver may take it. */
  visibilityTimeoutS: number;
}

export class SqsTaskSource implements TaskSource {
  private readonly deleter: Batcher<string>;

  constructor(
    private readonly sqs: SQSClient,
    private readonly options: SqsTaskSourceOptions,
  ) {
    this.deleter = new Batcher<string>({
      maxEntries: 10,
      maxInFlight: 2,
      flush: (handles) => this.deleteBatch(handles),
    });
  }

  async receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<TaskMessage[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.options.visibilityTimeoutS,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      { abortSignal: signal },
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
    const out = await this.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.options.queueUrl,
        Entries: handles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })),
      }),
    );
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    return handles.map((_, i) => (failed.has(String(i)) ? new Error("delete refused") : undefined));
  }
}
