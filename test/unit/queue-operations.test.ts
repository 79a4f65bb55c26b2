/**
 * The queue service's operations called directly on a registry (no HTTP): attribute parsing and
 * SQS's ranges and error names, CreateQueue's idempotency, ListQueues' pages, batch limits, and the
 * wire form of an error that the SDK reads (errors.ts).
 */
import { expect } from "chai";
import { SqsError } from "../../emulator/queue/errors";
import { SYSTEM_QUEUE_CLOCK } from "../../emulator/queue/message-queue";
import { OPERATIONS, RequestContext } from "../../emulator/queue/operations";
import { QueueRegistry } from "../../emulator/queue/queue-registry";

const context: RequestContext = { origin: "http://sqs.local:9324", signal: new AbortController().signal };

function registry(): QueueRegistry {
  return new QueueRegistry({
    accountId: "000000000000",
    region: "us-east-1",
    clock: SYSTEM_QUEUE_CLOCK,
    purgeCooldownMs: 60_000,
  });
}

async function call(r: QueueRegistry, operation: string, input: unknown): Promise<Record<string, unknown>> {
  const handler = OPERATIONS[operation];
  if (handler === undefined) throw new Error(`no ${operation}`);
  return (await handler(r, input, context)) as Record<string, unknown>;
}

async function codeOf(r: QueueRegistry, operation: string, input: unknown): Promise<string> {
  try {
    await call(r, operation, input);
  } catch (err) {
    if (err instanceof SqsError) return err.code;
    throw err;
  }
  throw new Error(`${operation} did not fail`);
}

describe("queue service: operations", () => {
  it("answers queue URLs on the origin the client used, and finds a queue by the URL's path alone", async () => {
    const r = registry();
    const { QueueUrl } = await call(r, "CreateQueue", { QueueName: "tasks" });
    expect(QueueUrl).to.equal("http://sqs.local:9324/000000000000/tasks");
    await call(r, "SendMessage", { QueueUrl: "http://127.0.0.1:1/000000000000/tasks", MessageBody: "x" });
    expect(
      await codeOf(r, "SendMessage", { QueueUrl: "http://h/111111111111/tasks", MessageBody: "x" }),
    ).to.equal("QueueDoesNotExist");
  });

  it("checks queue attributes as SQS does", async () => {
    const r = registry();
    const create = (Attributes: Record<string, string>, QueueName = "q") =>
      codeOf(r, "CreateQueue", { QueueName, Attributes });
    expect(await create({ VisibilityTimeout: "43201" })).to.equal("InvalidAttributeValue");
    expect(await create({ MessageRetentionPeriod: "59" })).to.equal("InvalidAttributeValue");
    expect(await create({ DelaySeconds: "1.5" })).to.equal("InvalidAttributeValue");
    expect(await create({ Colour: "blue" })).to.equal("InvalidAttributeName");
    expect(await create({ FifoQueue: "true" })).to.equal("UnsupportedOperation");
    expect(await create({}, "q.fifo")).to.equal("UnsupportedOperation");
    expect(await create({}, "has space")).to.equal("InvalidParameterValue");
    const redrive = (policy: unknown) => create({ RedrivePolicy: JSON.stringify(policy) });
    expect(
      await redrive({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:none", maxReceiveCount: 3 }),
    ).to.equal("InvalidParameterValue");
    await call(r, "CreateQueue", { QueueName: "dlq" });
    const arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    expect(await redrive({ deadLetterTargetArn: arn, maxReceiveCount: 0 })).to.equal("InvalidParameterValue");
    expect(await redrive({ maxReceiveCount: 3 })).to.equal("InvalidParameterValue");
    const { QueueUrl } = await call(r, "CreateQueue", {
      QueueName: "q",
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: "3" }) },
    });
    const { Attributes } = await call(r, "GetQueueAttributes", {
      QueueUrl,
      AttributeNames: ["RedrivePolicy"],
    });
    expect(Attributes).to.deep.equal({
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 }),
    });
    expect(await codeOf(r, "GetQueueAttributes", { QueueUrl, AttributeNames: ["Colour"] })).to.equal(
      "InvalidAttributeName",
    );
    await call(r, "SetQueueAttributes", { QueueUrl, Attributes: { RedrivePolicy: "" } });
    expect(
      await call(r, "GetQueueAttributes", { QueueUrl, AttributeNames: ["RedrivePolicy"] }),
    ).to.deep.equal({});
  });

  it("creates idempotently: same attributes (as strings or numbers) answer the queue, different ones QueueAlreadyExists", async () => {
    const r = registry();
    const first = await call(r, "CreateQueue", { QueueName: "q", Attributes: { VisibilityTimeout: "60" } });
    expect(
      await call(r, "CreateQueue", { QueueName: "q", Attributes: { VisibilityTimeout: "060" } }),
    ).to.deep.equal(first);
    expect(await call(r, "CreateQueue", { QueueName: "q" })).to.deep.equal(first);
    expect(
      await codeOf(r, "CreateQueue", { QueueName: "q", Attributes: { VisibilityTimeout: "61" } }),
    ).to.equal("QueueNameExists");
  });

  it("pages ListQueues with MaxResults and NextToken, in name order", async () => {
    const r = registry();
    for (const name of ["b", "a", "c", "other"]) await call(r, "CreateQueue", { QueueName: name });
    const names = (out: Record<string, unknown>) =>
      (out.QueueUrls as string[]).map((u) => u.split("/").at(-1));
    expect(names(await call(r, "ListQueues", {}))).to.deep.equal(["a", "b", "c", "other"]);
    const page1 = await call(r, "ListQueues", { MaxResults: 2 });
    expect(names(page1)).to.deep.equal(["a", "b"]);
    const page2 = await call(r, "ListQueues", { MaxResults: 2, NextToken: page1.NextToken });
    expect(names(page2)).to.deep.equal(["c", "other"]);
    expect(page2.NextToken).to.equal(undefined);
    expect(await call(r, "ListQueues", { QueueNamePrefix: "zz" })).to.deep.equal({});
  });

  it("checks messages and batches: missing parameters, FIFO-only ones, sizes, entry ids", async () => {
    const r = registry();
    const { QueueUrl } = await call(r, "CreateQueue", {
      QueueName: "q",
      Attributes: { MaximumMessageSize: "1024" },
    });
    expect(await codeOf(r, "SendMessage", { QueueUrl })).to.equal("MissingParameter");
    expect(
      await codeOf(r, "SendMessage", { QueueUrl, MessageBody: "x", MessageDeduplicationId: "d" }),
    ).to.equal("InvalidParameterValue");
    await call(r, "SendMessage", { QueueUrl, MessageBody: "x", MessageGroupId: "fair" });
    expect(await codeOf(r, "SendMessage", { QueueUrl, MessageBody: "x".repeat(1025) })).to.equal(
      "InvalidParameterValue",
    );
    expect(await codeOf(r, "SendMessage", { QueueUrl, MessageBody: "bell \u0007" })).to.equal(
      "InvalidMessageContents",
    );
    expect(
      await codeOf(r, "SendMessage", {
        QueueUrl,
        MessageBody: "x",
        MessageAttributes: { n: { DataType: "Number", StringValue: "twelve" } },
      }),
    ).to.equal("InvalidParameterValue");
    expect(
      await codeOf(r, "SendMessageBatch", { QueueUrl, Entries: [{ Id: "bad id!", MessageBody: "x" }] }),
    ).to.equal("InvalidBatchEntryId");
    const big = {
      QueueUrl,
      Entries: Array.from({ length: 2 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x".repeat(600_000) })),
    };
    expect(await codeOf(r, "SendMessageBatch", big)).to.equal("BatchRequestTooLong");
    const mixed = await call(r, "SendMessageBatch", {
      QueueUrl,
      Entries: [
        { Id: "ok", MessageBody: "fits" },
        { Id: "large", MessageBody: "x".repeat(2000) },
      ],
    });
    expect((mixed.Successful as { Id: string }[]).map((e) => e.Id)).to.deep.equal(["ok"]);
    expect(mixed.Failed).to.deep.equal([
      {
        Id: "large",
        SenderFault: true,
        Code: "InvalidParameterValue",
        Message: "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.",
      },
    ]);
    expect(await codeOf(r, "ReceiveMessage", { QueueUrl, WaitTimeSeconds: 21 })).to.equal(
      "InvalidParameterValue",
    );
    expect(await codeOf(r, "ReceiveMessage", { QueueUrl, MaxNumberOfMessages: "ten" })).to.equal(
      "InvalidParameterValue",
    );
  });

  it("puts errors on the wire as the SDK reads them: status, __type and x-amzn-query-error", () => {
    expect(new SqsError("QueueDoesNotExist", "gone").toWire()).to.deep.equal({
      status: 400,
      headers: { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" },
      body: { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "gone" },
    });
    expect(new SqsError("ReceiptHandleIsInvalid", "bad").toWire().status).to.equal(404);
    expect(new SqsError("InternalError", "bug").toWire().headers).to.deep.equal({
      "x-amzn-query-error": "InternalError;Receiver",
    });
  });
});
