import { expect } from "chai";
import { startQueueService } from "../../emulator/queue/server";

/** The queue service's HTTP side against what a client controls: the body's size and shape. */
describe("queue service: requests a client controls", () => {
  const post = (endpoint: string, target: string, body: string | Buffer) =>
    fetch(endpoint, {
      method: "POST",
      headers: { "x-amz-target": target, "content-type": "application/x-amz-json-1.0" },
      body,
    });

  it("answers an oversized body with an error, not a reset connection, and keeps serving", async () => {
    await using queue = await startQueueService({});
    const res = await post(queue.endpoint, "AmazonSQS.SendMessage", Buffer.alloc(9 * 1024 * 1024, "x"));
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { message: string }).message).to.match(/larger than 8388608 bytes/);
    const next = await post(queue.endpoint, "AmazonSQS.ListQueues", "{}");
    expect(next.status).to.equal(200);
  });

  it("answers a body that is not JSON, and an operation SQS does not have, with SQS's error names", async () => {
    await using queue = await startQueueService({});
    const garbled = await post(queue.endpoint, "AmazonSQS.CreateQueue", "{not json");
    expect(garbled.status).to.equal(400);
    expect(((await garbled.json()) as { __type: string }).__type).to.match(/SerializationException$/);
    const unknown = await post(queue.endpoint, "AmazonSQS.__proto__", "{}");
    expect(unknown.status).to.equal(400);
    expect(((await unknown.json()) as { __type: string }).__type).to.match(/UnknownOperation/);
  });
});
