import { DeleteMessageCommand, Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { InvocationResult } from "../../contracts";
import { createLogger } from "../../services/common/logger";
import { DeadLetterConsumer, DeadLetterKind } from "../../services/controller/dead-letter-consumer";
import { TASK } from "../fixtures/controller";

const log = createLogger("test", "silent");
const task = TASK;

/** An SQS client that answers receives from a script and records deletes. */
class FakeSqs {
  deleted: string[] = [];
  receives: (Message[] | Error)[] = [];
  send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> {
    if (command instanceof DeleteMessageCommand) {
      this.deleted.push(command.input.ReceiptHandle ?? "");
      return Promise.resolve({});
    }
    if (command instanceof ReceiveMessageCommand) {
      const next = this.receives.shift();
      if (next === undefined) {
        return new Promise((_resolve, reject) =>
          options?.abortSignal?.addEventListener("abort", () => reject(new Error("aborted"))),
        );
      }
      return next instanceof Error ? Promise.reject(next) : Promise.resolve({ Messages: next });
    }
    return Promise.reject(new Error("unexpected command"));
  }
}

function setup(outcome: "stored" | "duplicate" | "lease-lost" = "stored") {
  const sqs = new FakeSqs();
  const stored: InvocationResult[] = [];
  const kinds: DeadLetterKind[] = [];
  const consumer = new DeadLetterConsumer(
    sqs as unknown as SQSClient,
    {
      storeResult: (r: InvocationResult) => {
        stored.push(r);
        return Promise.resolve(outcome);
      },
    },
    {
      queueUrl: "http://127.0.0.1:1/q",
      waitTimeSeconds: 1,
      visibilityTimeoutS: 30,
      backoff: { initialMs: 1, maxMs: 2 },
    },
    log,
    (kind) => kinds.push(kind),
  );
  return { sqs, stored, kinds, consumer };
}

const message = (body: string, receiveCount = 6): Message => ({
  MessageId: "m1",
  ReceiptHandle: `r-${body.length}`,
  Body: body,
  Attributes: { ApproximateReceiveCount: String(receiveCount) },
});

describe("dead-letter consumer", () => {
  it("records a dead-lettered task as failed (DeadLettered, worker dlq), then deletes the message", async () => {
    const { sqs, stored, kinds, consumer } = setup();
    await consumer.handle(message(JSON.stringify(task)));
    expect(stored).to.have.length(1);
    expect(stored[0]).to.deep.include({
      invocationId: task.invocationId,
      function: "f",
      status: "failed",
      workerId: "dlq",
    });
    expect(stored[0]?.error?.type).to.equal("DeadLettered");
    expect(stored[0]?.error?.message).to.include("received 5 times without a result");
    expect(sqs.deleted).to.have.length(1);
    expect(kinds).to.deep.equal(["task"]);
  });

  it("leaves a worker's result in place and still deletes the message", async () => {
    const { sqs, kinds, consumer } = setup("duplicate");
    await consumer.handle(message(JSON.stringify(task)));
    expect(sqs.deleted).to.have.length(1);
    expect(kinds).to.deep.equal(["task"]);
  });

  it("keeps the message while a worker still holds the invocation's lease", async () => {
    const { sqs, kinds, consumer } = setup("lease-lost");
    await consumer.handle(message(JSON.stringify(task)));
    expect(sqs.deleted).to.have.length(0);
    expect(kinds).to.deep.equal([]);
  });

  it("deletes a message that is not a task without storing anything", async () => {
    const { sqs, stored, kinds, consumer } = setup();
    await consumer.handle(message("not json"));
    await consumer.handle(message(JSON.stringify({ ...task, invocationId: "nope" })));
    expect(stored).to.have.length(0);
    expect(sqs.deleted).to.have.length(2);
    expect(kinds).to.deep.equal(["malformed", "malformed"]);
  });

  it("backs off after receive errors and stops when aborted", async () => {
    const { sqs, stored, consumer } = setup();
    sqs.receives = [new Error("endpoint down"), new Error("endpoint down"), [message(JSON.stringify(task))]];
    const stop = new AbortController();
    const running = consumer.run(stop.signal);
    const deadline = Date.now() + 2000;
    while (stored.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(stored).to.have.length(1);
    stop.abort();
    await running;
  });
});
