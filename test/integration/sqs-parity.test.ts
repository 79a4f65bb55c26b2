/**
 * One suite of SQS behaviour, written once and run against two servers: moto (the control plane's
 * AWS emulator, started here on a free port and stopped after) and the local queue service
 * (emulator/queue, started in-process). Both are driven through @aws-sdk/client-sqs with its default
 * MD5 checks on, as the platform drives SQS. A test that only one of them passes says why and where
 * the difference is documented (docs/queue.md); moto's bugs are not asserted.
 */
import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  Message,
  MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  TagQueueCommand,
  UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import { startMoto } from "../../emulator/aws-emulator";
import { LABEL_ENV } from "../../emulator/environment";
import { freePort } from "../../emulator/ports";
import { startQueueService } from "../../emulator/queue/server";
import { SqsCallError, SqsWire } from "../../services/common/sqs-wire";

/** Where a server is known to answer otherwise than SQS: the tests expect SQS's answer unless a quirk says so. */
interface Quirks {
  /** moto sends a failed batch entry's SenderFault as the string "true" instead of a boolean. */
  senderFaultAsString: boolean;
  /** moto answers ReceiptHandleIsInvalid with 400; SQS's model says 404. */
  receiptHandleInvalidStatus: number;
}

interface Target {
  name: "moto" | "queue service";
  quirks: Quirks;
  start(): Promise<{ endpoint: string; stop(): Promise<void> }>;
}

const SQS: Quirks = { senderFaultAsString: false, receiptHandleInvalidStatus: 404 };

const TARGETS: Target[] = [
  {
    name: "moto",
    quirks: { senderFaultAsString: true, receiptHandleInvalidStatus: 400 },
    start: async () => {
      const lines: string[] = [];
      return startMoto(await freePort(), { [LABEL_ENV]: `sqs-parity-${process.pid}` }, (_n, line) =>
        lines.push(line),
      );
    },
  },
  { name: "queue service", quirks: SQS, start: () => startQueueService({ port: 0 }) },
];

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

/** SQS's MD5 of message attributes, written out here independently of the service's own. */
function attributesMd5(attributes: Record<string, MessageAttributeValue>): string {
  const hash = createHash("md5");
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const a = attributes[name]!;
    field(Buffer.from(name));
    field(Buffer.from(a.DataType!));
    if (a.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(a.BinaryValue));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(a.StringValue!));
    }
  }
  return hash.digest("hex");
}

function asCallError(err: Error): SqsCallError {
  if (err instanceof SqsCallError) return err;
  throw err;
}

async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

for (const target of TARGETS) {
  describe(`SQS behaviour: ${target.name}`, function () {
    this.timeout(30_000);
    let server: { endpoint: string; stop(): Promise<void> };
    let sqs: SQSClient;
    const prefix = `parity-${randomBytes(4).toString("hex")}`;
    let n = 0;
    const senderFault = target.quirks.senderFaultAsString ? "true" : true;

    before(async () => {
      server = await target.start();
      sqs = new SQSClient({
        endpoint: server.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        maxAttempts: 1,
      });
    });

    after(async () => {
      sqs.destroy();
      await server.stop();
    });

    async function createQueue(attributes: Record<string, string> = {}, name = `${prefix}-${++n}`) {
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
      );
      return QueueUrl!;
    }

    async function attributesOf(
      queueUrl: string,
      names: string[] = ["All"],
    ): Promise<Record<string, string>> {
      const out = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names as never }),
      );
      return out.Attributes ?? {};
    }

    async function arnOf(queueUrl: string): Promise<string> {
      return (await attributesOf(queueUrl, ["QueueArn"])).QueueArn!;
    }

    async function receive(
      queueUrl: string,
      options: { wait?: number; max?: number; visibility?: number } = {},
    ) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: options.max ?? 10,
          WaitTimeSeconds: options.wait ?? 0,
          VisibilityTimeout: options.visibility,
          MessageSystemAttributeNames: ["All"],
          MessageAttributeNames: ["All"],
        }),
      );
      return out.Messages ?? [];
    }

    async function sendAll(queueUrl: string, bodies: string[]): Promise<void> {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body })),
        }),
      );
      expect(out.Failed ?? []).to.deep.equal([]);
    }

    describe("queues", () => {
      it("creates a queue with attributes, answers the same URL for the same attributes, and refuses different ones", async () => {
        const name = `${prefix}-created`;
        const attributes = { VisibilityTimeout: "45", DelaySeconds: "0", MessageRetentionPeriod: "3600" };
        const url = await createQueue(attributes, name);
        expect(new URL(url).pathname).to.match(new RegExp(`^/\\d{12}/${name}$`));
        expect(await createQueue(attributes, name)).to.equal(url);
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
        expect(QueueUrl).to.equal(url);
        const err = await errorOf(createQueue({ VisibilityTimeout: "46" }, name));
        expect(err.name).to.equal("QueueNameExists");
        expect(err.Code).to.equal("QueueAlreadyExists");

        const all = await attributesOf(url);
        expect(all).to.include({
          VisibilityTimeout: "45",
          MessageRetentionPeriod: "3600",
          DelaySeconds: "0",
          ReceiveMessageWaitTimeSeconds: "0",
          MaximumMessageSize: "1048576", // 1 MiB, SQS's limit and default since August 2025
          ApproximateNumberOfMessages: "0",
          ApproximateNumberOfMessagesNotVisible: "0",
          ApproximateNumberOfMessagesDelayed: "0",
        });
        expect(all.QueueArn).to.match(new RegExp(`^arn:aws:sqs:us-east-1:\\d{12}:${name}$`));
        expect(Number(all.CreatedTimestamp)).to.be.closeTo(Date.now() / 1000, 60);

        await sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: "5" } }),
        );
        expect(await attributesOf(url, ["VisibilityTimeout"])).to.deep.equal({ VisibilityTimeout: "5" });
      });

      it("keeps a redrive policy and answers it as JSON", async () => {
        const dlq = await createQueue();
        const dlqArn = await arnOf(dlq);
        const url = await createQueue({
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
        });
        const { RedrivePolicy } = await attributesOf(url, ["RedrivePolicy"]);
        expect(JSON.parse(RedrivePolicy!)).to.deep.equal({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 });
      });

      it("lists queues by prefix, tags and untags them, and deletes them", async () => {
        const listPrefix = `${prefix}-list`;
        const a = await createQueue({}, `${listPrefix}-a`);
        const b = await createQueue({}, `${listPrefix}-b`);
        const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: listPrefix }));
        expect(listed.QueueUrls ?? []).to.have.members([a, b]);

        await sqs.send(new TagQueueCommand({ QueueUrl: a, Tags: { team: "faas", tier: "dev" } }));
        await sqs.send(new UntagQueueCommand({ QueueUrl: a, TagKeys: ["tier"] }));
        expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: a }))).Tags).to.deep.equal({
          team: "faas",
        });

        await sqs.send(new DeleteQueueCommand({ QueueUrl: b }));
        const after = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: listPrefix }));
        expect(after.QueueUrls ?? []).to.deep.equal([a]);
        const err = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: `${listPrefix}-b` })));
        expect(err.name).to.equal("QueueDoesNotExist");
      });
    });

    describe("messages", () => {
      it("sends and receives with the MD5s of body and attributes that SQS computes (the SDK checks the body's)", async () => {
        const url = await createQueue();
        const body = `héllo ✓ ${"x".repeat(100)}`;
        const attributes: Record<string, MessageAttributeValue> = {
          kind: { DataType: "String", StringValue: "task" },
          n: { DataType: "Number", StringValue: "42" },
          blob: { DataType: "Binary", BinaryValue: Uint8Array.from([0, 1, 2, 255]) },
        };
        const sent = await sqs.send(
          new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes }),
        );
        expect(sent.MD5OfMessageBody).to.equal(md5(body));
        expect(sent.MD5OfMessageAttributes).to.equal(attributesMd5(attributes));

        const [message] = await receive(url, { wait: 1 });
        expect(message?.MessageId).to.equal(sent.MessageId);
        expect(message?.Body).to.equal(body);
        expect(message?.MD5OfBody).to.equal(md5(body));
        expect(message?.MD5OfMessageAttributes).to.equal(attributesMd5(attributes));
        expect(message?.MessageAttributes?.kind).to.deep.include({ DataType: "String", StringValue: "task" });
        expect(Buffer.from(message!.MessageAttributes!.blob!.BinaryValue!)).to.deep.equal(
          Buffer.from([0, 1, 2, 255]),
        );
        expect(message?.Attributes?.ApproximateReceiveCount).to.equal("1");
        expect(Number(message?.Attributes?.SentTimestamp)).to.be.closeTo(Date.now(), 60_000);
        expect(Number(message?.Attributes?.ApproximateFirstReceiveTimestamp)).to.be.at.least(
          Number(message?.Attributes?.SentTimestamp),
        );
      });

      it("sends a batch, answering each entry, and fails only the entry that is invalid", async () => {
        const url = await createQueue();
        const out = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: "a", MessageBody: "first" },
              { Id: "bad", MessageBody: "late", DelaySeconds: 901 },
              { Id: "c", MessageBody: "third" },
            ],
          }),
        );
        expect(out.Successful?.map((e) => e.Id)).to.have.members(["a", "c"]);
        for (const entry of out.Successful ?? []) {
          expect(entry.MD5OfMessageBody).to.equal(md5(entry.Id === "a" ? "first" : "third"));
        }
        expect(out.Failed).to.have.length(1);
        expect(out.Failed?.[0]).to.include({ Id: "bad", SenderFault: senderFault });
        const bodies = (await receive(url)).map((m) => m.Body);
        expect(bodies).to.have.members(["first", "third"]);
      });

      it("answers a long poll as soon as a message arrives, and empty after WaitTimeSeconds", async () => {
        const url = await createQueue();
        const started = Date.now();
        const polling = receive(url, { wait: 10 });
        await new Promise((r) => setTimeout(r, 300));
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake up" }));
        const messages = await polling;
        expect(messages.map((m) => m.Body)).to.deep.equal(["wake up"]);
        expect(Date.now() - started).to.be.below(3000);

        const emptyStarted = Date.now();
        expect(await receive(url, { wait: 1 })).to.deep.equal([]);
        const waited = Date.now() - emptyStarted;
        expect(waited).to.be.at.least(900);
        expect(waited).to.be.below(4000);
      });

      it("hides a received message for its visibility timeout, and ChangeMessageVisibility 0 shows it at once", async () => {
        const url = await createQueue({ VisibilityTimeout: "30" });
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "again" }));
        const [first] = await receive(url, { visibility: 1 });
        expect(first?.Body).to.equal("again");
        expect(await receive(url)).to.deep.equal([]);
        expect(await attributesOf(url, ["ApproximateNumberOfMessagesNotVisible"])).to.deep.equal({
          ApproximateNumberOfMessagesNotVisible: "1",
        });
        const [second] = await receive(url, { wait: 5 });
        expect(second?.MessageId).to.equal(first?.MessageId);
        expect(second?.Attributes?.ApproximateReceiveCount).to.equal("2");

        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: second!.ReceiptHandle!,
            VisibilityTimeout: 0,
          }),
        );
        const [third] = await receive(url);
        expect(third?.MessageId).to.equal(first?.MessageId);

        const batch = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: [{ Id: "x", ReceiptHandle: third!.ReceiptHandle!, VisibilityTimeout: 0 }],
          }),
        );
        expect(batch.Successful?.map((e) => e.Id)).to.deep.equal(["x"]);
        expect((await receive(url)).map((m) => m.MessageId)).to.deep.equal([first?.MessageId]);
      });

      it("deletes one message and a batch, failing only the batch entry with a bad receipt handle", async () => {
        const url = await createQueue();
        await sendAll(url, ["1", "2", "3", "4"]);
        const received: Message[] = [];
        while (received.length < 4) received.push(...(await receive(url, { wait: 1 })));
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: received[0]!.ReceiptHandle! }),
        );
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              ...received.slice(1).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
              { Id: "bad", ReceiptHandle: "not-a-receipt-handle" },
            ],
          }),
        );
        expect(out.Successful?.map((e) => e.Id)).to.have.members(["d0", "d1", "d2"]);
        expect(out.Failed?.map((e) => [e.Id, e.Code, e.SenderFault])).to.deep.equal([
          ["bad", "ReceiptHandleIsInvalid", true],
        ]);
        expect(
          await attributesOf(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]),
        ).to.deep.equal({
          ApproximateNumberOfMessages: "0",
          ApproximateNumberOfMessagesNotVisible: "0",
        });
        // Deleting again with a handle that was valid is not an error (SQS: DeleteMessage is idempotent).
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: received[0]!.ReceiptHandle! }),
        );
      });

      it("counts receives and moves a message received maxReceiveCount times to the dead-letter queue on the next receive", async () => {
        const dlq = await createQueue();
        const url = await createQueue({
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq), maxReceiveCount: 2 }),
        });
        const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "poison" }));
        for (const count of ["1", "2"]) {
          const [m] = await receive(url, { visibility: 0 });
          expect(m?.Attributes?.ApproximateReceiveCount).to.equal(count);
        }
        expect(await receive(url)).to.deep.equal([]);
        const [dead] = await receive(dlq, { wait: 2 });
        expect(dead?.MessageId).to.equal(sent.MessageId);
        expect(dead?.Body).to.equal("poison");
        expect(
          await attributesOf(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]),
        ).to.deep.equal({
          ApproximateNumberOfMessages: "0",
          ApproximateNumberOfMessagesNotVisible: "0",
        });
      });

      it("delays a message by the queue's or the message's DelaySeconds", async () => {
        const url = await createQueue({ DelaySeconds: "1" });
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "later" }));
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "now", DelaySeconds: 0 }));
        expect((await receive(url)).map((m) => m.Body)).to.deep.equal(["now"]);
        expect(await attributesOf(url, ["ApproximateNumberOfMessagesDelayed"])).to.deep.equal({
          ApproximateNumberOfMessagesDelayed: "1",
        });
        expect((await receive(url, { wait: 5 })).map((m) => m.Body)).to.deep.equal(["later"]);
      });

      it("purges a queue", async () => {
        const url = await createQueue();
        await sendAll(url, ["a", "b", "c"]);
        await receive(url, { max: 1 });
        await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
        expect(await receive(url)).to.deep.equal([]);
        expect(
          await attributesOf(url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]),
        ).to.deep.equal({
          ApproximateNumberOfMessages: "0",
          ApproximateNumberOfMessagesNotVisible: "0",
        });
      });
    });

    describe("errors, named as SQS names them", () => {
      it("names an unknown queue", async () => {
        const missing = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: `${prefix}-missing` })));
        expect([missing.name, missing.Code, missing.$metadata?.httpStatusCode]).to.deep.equal([
          "QueueDoesNotExist",
          "AWS.SimpleQueueService.NonExistentQueue",
          400,
        ]);
        const url = await createQueue();
        const ghost = url.replace(/[^/]+$/, `${prefix}-ghost`);
        const send = await errorOf(sqs.send(new SendMessageCommand({ QueueUrl: ghost, MessageBody: "x" })));
        expect(send.name).to.equal("QueueDoesNotExist");
      });

      it("names a bad receipt handle", async () => {
        const url = await createQueue();
        const err = await errorOf(
          sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "garbage" })),
        );
        expect([err.name, err.$metadata?.httpStatusCode]).to.deep.equal([
          "ReceiptHandleIsInvalid",
          target.quirks.receiptHandleInvalidStatus,
        ]);
      });

      it("names batches that are too big, empty or repeat an id", async () => {
        const url = await createQueue();
        const entries = (k: number) =>
          Array.from({ length: k }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" }));
        const tooMany = await errorOf(
          sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })),
        );
        expect([tooMany.name, tooMany.Code]).to.deep.equal([
          "TooManyEntriesInBatchRequest",
          "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ]);
        const empty = await errorOf(sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [] })));
        expect(empty.name).to.equal("EmptyBatchRequest");
        const twice = await errorOf(
          sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: [
                { Id: "same", MessageBody: "1" },
                { Id: "same", MessageBody: "2" },
              ],
            }),
          ),
        );
        expect(twice.name).to.equal("BatchEntryIdsNotDistinct");
      });

      it("names invalid parameters: MaxNumberOfMessages out of range, a message over the queue's MaximumMessageSize", async () => {
        const url = await createQueue({ MaximumMessageSize: "262144" });
        const max = await errorOf(
          sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })),
        );
        expect([max.name, max.$metadata?.httpStatusCode]).to.deep.equal(["InvalidParameterValue", 400]);
        const big = await errorOf(
          sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x".repeat(262_145) })),
        );
        expect(big.name).to.equal("InvalidParameterValue");
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x".repeat(262_144) }));
      });
    });

    describe("the platform's own client for the three calls on every invocation's path (sqs-wire.ts)", () => {
      let wire: SqsWire;
      before(() => {
        wire = new SqsWire(sqs);
      });
      after(() => wire.close());

      it("sends a batch, long-polls it back with its receive count, and deletes it as the SDK does", async () => {
        const url = await createQueue({ VisibilityTimeout: "30" });
        const waiting = wire.receiveMessage({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 5,
          VisibilityTimeout: 30,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        });
        const bodies = ["one", "twö", JSON.stringify({ n: 3, "\u2028": "x".repeat(1000) })];
        const sent = await wire.sendMessageBatch({
          QueueUrl: url,
          Entries: bodies.map((body, i) => ({ Id: `m${i}`, MessageBody: body })),
        });
        expect(sent.Successful?.map((e) => [e.Id, e.MD5OfMessageBody])).to.deep.equal(
          bodies.map((body, i) => [`m${i}`, md5(body)]),
        );
        const got: Message[] = [...((await waiting).Messages ?? [])];
        while (got.length < bodies.length) got.push(...(await receive(url, { wait: 1 })));
        expect(got.map((m) => m.Body).sort()).to.deep.equal([...bodies].sort());
        expect(got.map((m) => m.Attributes?.ApproximateReceiveCount ?? "1")).to.deep.equal(["1", "1", "1"]);
        const deleted = await wire.deleteMessageBatch({
          QueueUrl: url,
          Entries: [
            ...got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle! })),
            { Id: "bad", ReceiptHandle: "garbage" },
          ],
        });
        expect(deleted.Successful?.map((e) => e.Id).sort()).to.deep.equal(["d0", "d1", "d2"]);
        expect(deleted.Failed?.map((e) => e.Id)).to.deep.equal(["bad"]);
        const left = await attributesOf(url, [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
        ]);
        expect(left).to.deep.include({
          ApproximateNumberOfMessages: "0",
          ApproximateNumberOfMessagesNotVisible: "0",
        });
      });

      it("names the errors SQS answers as the SDK names them", async () => {
        const url = await createQueue();
        const ghost = url.replace(/[^/]+$/, `${prefix}-ghost`);
        const missing = await errorOf(
          wire.sendMessageBatch({ QueueUrl: ghost, Entries: [{ Id: "0", MessageBody: "x" }] }),
        );
        expect(missing).to.be.instanceOf(SqsCallError);
        const sdk = await errorOf(
          sqs.send(
            new SendMessageBatchCommand({ QueueUrl: ghost, Entries: [{ Id: "0", MessageBody: "x" }] }),
          ),
        );
        const typed = asCallError(missing);
        expect([typed.name, typed.code, typed.statusCode, typed.message]).to.deep.equal([
          sdk.name,
          sdk.Code,
          sdk.$metadata?.httpStatusCode,
          sdk.message,
        ]);
        const empty = await errorOf(wire.deleteMessageBatch({ QueueUrl: url, Entries: [] }));
        expect([empty.name, asCallError(empty).code]).to.deep.equal([
          "EmptyBatchRequest",
          "AWS.SimpleQueueService.EmptyBatchRequest",
        ]);
        const outOfRange = await errorOf(wire.receiveMessage({ QueueUrl: url, MaxNumberOfMessages: 11 }));
        expect(outOfRange.name).to.equal(
          (await errorOf(sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 }))))
            .name,
        );
      });

      it("gives up a long poll when its signal aborts", async () => {
        const url = await createQueue();
        const stop = new AbortController();
        const started = Date.now();
        const polling = errorOf(wire.receiveMessage({ QueueUrl: url, WaitTimeSeconds: 10 }, stop.signal));
        setTimeout(() => stop.abort(), 100);
        expect((await polling).name).to.equal("AbortError");
        expect(Date.now() - started).to.be.below(5000);
      });
    });

    describe("long polls whose client went away (the queue service only)", () => {
      it("gives nothing to a long poll whose client has gone", async function () {
        // moto, like SQS, may hand a message to a poll whose client has gone; it then stays invisible
        // for its visibility timeout (README, "Where the local cloud differs"). The queue service drops it.
        if (target.name === "moto") this.skip();
        const url = await createQueue();
        const gone = new AbortController();
        const abandoned = sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 20 }), {
          abortSignal: gone.signal,
        });
        await new Promise((r) => setTimeout(r, 200));
        gone.abort();
        expect((await errorOf(abandoned)).name).to.equal("AbortError");
        await new Promise((r) => setTimeout(r, 100));
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "for a live poll" }));
        expect((await receive(url)).map((m) => m.Body)).to.deep.equal(["for a live poll"]);
      });
    });

    describe("receipt handles (the queue service's documented semantics; moto differs)", () => {
      it("deletes with the latest receipt handle only: an older one is accepted and does nothing", async function () {
        // SQS documents that only the most recent handle deletes ("otherwise, the request succeeds, but
        // the message might not be deleted"); moto deletes with any handle the message ever had.
        if (target.name === "moto") this.skip();
        const url = await createQueue();
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "m" }));
        const [first] = await receive(url, { visibility: 0 });
        const [second] = await receive(url, { visibility: 30 });
        expect(second?.MessageId).to.equal(first?.MessageId);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle! }));
        expect(await attributesOf(url, ["ApproximateNumberOfMessagesNotVisible"])).to.deep.equal({
          ApproximateNumberOfMessagesNotVisible: "1",
        });
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: second!.ReceiptHandle! }));
        expect(await attributesOf(url, ["ApproximateNumberOfMessagesNotVisible"])).to.deep.equal({
          ApproximateNumberOfMessagesNotVisible: "0",
        });
      });

      it("changes visibility only for a message in flight, and only with its latest receipt handle", async function () {
        // SQS answers MessageNotInflight, and InvalidParameterValue for a handle that is no longer the
        // message's; moto changes the visibility in both cases.
        if (target.name === "moto") this.skip();
        const url = await createQueue();
        await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "m" }));
        const [first] = await receive(url, { visibility: 0 });
        const notInFlight = await errorOf(
          sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: first!.ReceiptHandle!,
              VisibilityTimeout: 10,
            }),
          ),
        );
        expect([notInFlight.name, notInFlight.Code]).to.deep.equal([
          "MessageNotInflight",
          "AWS.SimpleQueueService.MessageNotInflight",
        ]);
        expect(await receive(url, { max: 1, visibility: 30 })).to.have.length(1);
        const stale = await errorOf(
          sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: first!.ReceiptHandle!,
              VisibilityTimeout: 0,
            }),
          ),
        );
        expect(stale.name).to.equal("InvalidParameterValue");
      });
    });
  });
}
