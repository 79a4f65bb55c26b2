/**
 * Drains the dead-letter queue, so that an accepted invocation never stays `queued` forever: it ends
 * with a result, a recorded failure, or a dead-letter entry. SQS moves a task
 * there after `maxReceiveCount` receives without a delete, which in this platform means no worker
 * stored a result for it that many times: typically the worker running it died each time.
 *
 * For a message that parses as a task, the consumer stores a terminal `failed` result (error type
 * `DeadLettered`, `workerId: "dlq"`) through the same exactly-once path as the workers (SET NX in
 * STORE_RESULT): a result a worker stored meanwhile wins, and the dead-letter result is published
 * like any other, so a synchronous caller still waiting gets its 500 at once. If a worker still holds
 * the invocation's lease (a long run whose extra copies were redriven), nothing is stored: the message
 * stays and comes back after its visibility timeout, by when that worker has stored its result or its
 * lease has expired. A message that is not a task is logged (id and size only: a body may carry an
 * event) and deleted.
 *
 * ApproximateReceiveCount survives the move to the dead-letter queue on AWS and on moto, and counts
 * this consumer's own receive too; the message reports the receives before that.
 */
import { DeleteMessageCommand, Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { InvocationResult, InvocationTask } from "../../contracts";
import { Backoff, isAborted, sleep } from "../common/backoff";
import { InvocationStore } from "../common/invocation-store";
import { Logger } from "../common/logger";

export type DeadLetterKind = "task" | "malformed";

export const DEAD_LETTER_WORKER_ID = "dlq";

export interface DeadLetterOptions {
  queueUrl: string;
  waitTimeSeconds: number;
  /** How long a received message stays hidden: the retry delay when a worker still runs the task. */
  visibilityTimeoutS: number;
  backoff?: { initialMs: number; maxMs: number };
}

export class DeadLetterConsumer {
  constructor(
    private readonly sqs: SQSClient,
    private readonly store: Pick<InvocationStore, "storeResult">,
    private readonly options: DeadLetterOptions,
    private readonly log: Logger,
    private readonly onDeadLetter: (kind: DeadLetterKind) => void = () => undefined,
  ) {}

  /** Long-polls until `signal` aborts; errors back off up to 5 s (the dead-letter queue is never urgent). */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.options.backoff ?? { initialMs: 200, maxMs: 5000 });
    while (!isAborted(signal)) {
      let messages: Message[];
      try {
        const out = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.options.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.options.waitTimeSeconds,
            VisibilityTimeout: this.options.visibilityTimeoutS,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
        backoff.reset();
      } catch (err) {
        if (isAborted(signal)) break;
        const delay = backoff.next();
        this.log.warn({ err: String(err), retryInMs: delay }, "could not receive from the dead-letter queue");
        await sleep(delay, signal);
        continue;
      }
      for (const message of messages) {
        await this.handle(message).catch((err: unknown) =>
          this.log.warn(
            { err: String(err), messageId: message.MessageId },
            "could not settle a dead-lettered message; it comes back after its visibility timeout",
          ),
        );
      }
    }
  }

  async handle(message: Message): Promise<void> {
    const receipt = message.ReceiptHandle;
    if (receipt === undefined) return;
    const task = parseTask(message.Body);
    if (task === undefined) {
      this.log.warn(
        { messageId: message.MessageId, bytes: Buffer.byteLength(message.Body ?? "") },
        "dead-lettered message is not a task; deleting it",
      );
      await this.delete(receipt);
      this.onDeadLetter("malformed");
      return;
    }
    const received = Math.max(0, Number(message.Attributes?.ApproximateReceiveCount ?? 1) - 1);
    const result: InvocationResult = {
      invocationId: task.invocationId,
      function: task.function.name,
      status: "failed",
      error: {
        type: "DeadLettered",
        message: `the task was received ${received} times without a result (for example, the worker running it died each time); it was moved to the dead-letter queue`,
      },
      workerId: DEAD_LETTER_WORKER_ID,
      durationMs: 0,
      coldStart: false,
      logs: "",
      finishedAt: Date.now(),
    };
    const outcome = await this.store.storeResult(result);
    const log = this.log.child({ invocationId: task.invocationId, function: task.function.name });
    if (outcome === "lease-lost") {
      log.info(
        "a worker still runs this dead-lettered invocation; looking again after the visibility timeout",
      );
      return;
    }
    await this.delete(receipt);
    this.onDeadLetter("task");
    if (outcome === "stored") log.warn({ received }, "recorded a dead-lettered invocation as failed");
    else log.info("dead-lettered invocation already had a result; deleted the message");
  }

  private async delete(receipt: string): Promise<void> {
    await this.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.options.queueUrl, ReceiptHandle: receipt }),
    );
  }
}

function parseTask(body: string | undefined): InvocationTask | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed = InvocationTask.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
