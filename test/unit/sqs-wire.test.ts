/**
 * The platform's client for its three hot SQS calls, against local HTTP servers that record what
 * arrives and answer as told: what is signed is what arrives, the protocol headers are the SDK's, and
 * errors, retries and digests behave as the SDK's do. Its behaviour against the queue service and moto
 * is in test/integration/sqs-parity.test.ts.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { AddressInfo } from "node:net";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { SignatureV4 } from "@smithy/signature-v4";
import { expect } from "chai";
import { SqsCallError, SqsChecksumError, SqsWire } from "../../services/common/sqs-wire";

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A server answering each request with the next of `answers` (the last one repeats). */
async function answering(
  answers: Answer[],
): Promise<{ url: string; received: Received[]; stop(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      const answer = answers[Math.min(received.length - 1, answers.length - 1)]!;
      res.writeHead(answer.status, { "content-type": "application/x-amz-json-1.0", ...answer.headers });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/123456789012/q`,
    received,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex");
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "token" };
const sqsClient = (
  maxAttempts = 2,
  credentials: SQSClient["config"]["credentials"] | typeof CREDENTIALS = CREDENTIALS,
  endpoint?: string,
) => new SQSClient({ region: "eu-west-1", credentials, maxAttempts, endpoint });
const OK_BATCH: Answer = {
  status: 200,
  body: JSON.stringify({ Successful: [{ Id: "0", MD5OfMessageBody: md5("x") }] }),
};
const noPause = { retryDelayMs: () => 1 };

describe("the SQS wire client (sqs-wire.ts)", () => {
  it("sends exactly what it signed, with the SDK's protocol headers and credential scope", async () => {
    const server = await answering([OK_BATCH]);
    const sqs = sqsClient(2, CREDENTIALS, new URL(server.url).origin);
    const wire = new SqsWire(sqs);
    try {
      const input = { QueueUrl: server.url, Entries: [{ Id: "0", MessageBody: "x" }] };
      await wire.sendMessageBatch(input);
      await sqs.send(new SendMessageBatchCommand(input));
      const [ours, sdks] = server.received as [Received, Received];

      // Verified as SQS would: the canonical request rebuilt from the headers that arrived.
      const authorization = String(ours.headers.authorization);
      const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(";");
      const date = String(ours.headers["x-amz-date"]);
      const signingDate = new Date(
        `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
      );
      const verifier = new SignatureV4({
        service: "sqs",
        region: "eu-west-1",
        credentials: CREDENTIALS,
        sha256: sqs.config.sha256,
      });
      const url = new URL(server.url);
      const resigned = await verifier.sign(
        {
          method: "POST",
          protocol: "http:",
          hostname: url.hostname,
          port: Number(url.port),
          path: "/",
          query: {},
          headers: Object.fromEntries(signedNames.map((name) => [name, String(ours.headers[name])])),
          body: ours.body,
        },
        { signingDate },
      );
      expect(authorization).to.equal(resigned.headers.authorization);
      expect(signedNames).to.include.members([
        "host",
        "content-type",
        "x-amz-target",
        "x-amz-date",
        "x-amz-security-token",
      ]);

      for (const name of ["content-type", "x-amz-target", "x-amzn-query-mode", "x-amz-security-token"]) {
        expect(ours.headers[name], name).to.equal(sdks.headers[name]);
      }
      const scope = (a: unknown) => /Credential=([^,]+)/.exec(String(a))![1];
      expect(scope(ours.headers.authorization)).to.equal(scope(sdks.headers.authorization));
      expect(JSON.parse(ours.body)).to.deep.equal(JSON.parse(sdks.body));
    } finally {
      sqs.destroy();
      await wire.close();
      await server.stop();
    }
  });

  it("signs each call with what the client's credential provider gives now (a rotated role)", async () => {
    const server = await answering([OK_BATCH]);
    let n = 0;
    const wire = new SqsWire(
      // Expiring within the SDK's refresh window, so its provider asks again on every call.
      sqsClient(2, () =>
        Promise.resolve({
          accessKeyId: `AKID${++n}`,
          secretAccessKey: "s",
          expiration: new Date(Date.now() + 60_000),
        }),
      ),
    );
    try {
      for (let i = 0; i < 2; i++)
        await wire.sendMessageBatch({ QueueUrl: server.url, Entries: [{ Id: "0", MessageBody: "x" }] });
      const keys = server.received.map(
        (r) => /Credential=(AKID\d+)/.exec(String(r.headers.authorization))![1],
      );
      expect(keys[1], "the second call's key").to.equal(`AKID${n}`);
      expect(keys[0]).to.not.equal(keys[1]);
    } finally {
      await wire.close();
      await server.stop();
    }
  });

  it("names an error from __type and x-amzn-query-error, and does not retry a client error", async () => {
    const server = await answering([
      {
        status: 400,
        body: JSON.stringify({
          __type: "com.amazonaws.sqs#QueueDoesNotExist",
          message: "The specified queue does not exist.",
        }),
        headers: { "x-amzn-query-error": "AWS.SimpleQueueService.NonExistentQueue;Sender" },
      },
    ]);
    const wire = new SqsWire(sqsClient(), noPause);
    try {
      const err = await failure(
        wire.sendMessageBatch({ QueueUrl: server.url, Entries: [{ Id: "0", MessageBody: "x" }] }),
      );
      const typed = asCallError(err);
      expect([typed.name, typed.code, typed.statusCode, typed.message, typed.retryable]).to.deep.equal([
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        400,
        "The specified queue does not exist.",
        false,
      ]);
      expect(server.received).to.have.length(1);
    } finally {
      await wire.close();
      await server.stop();
    }
  });

  it("retries a 5xx and a throttle once (maxAttempts 2) and succeeds, and gives up after maxAttempts", async () => {
    const throttled: Answer = {
      status: 400,
      body: JSON.stringify({ __type: "com.amazonaws.sqs#RequestThrottled", message: "slow down" }),
    };
    const unavailable: Answer = { status: 503, body: "<html>Service Unavailable</html>" };
    for (const first of [throttled, unavailable]) {
      const server = await answering([first, OK_BATCH]);
      const wire = new SqsWire(sqsClient(), noPause);
      try {
        const out = await wire.sendMessageBatch({
          QueueUrl: server.url,
          Entries: [{ Id: "0", MessageBody: "x" }],
        });
        expect(out.Successful?.[0]?.Id).to.equal("0");
        expect(server.received).to.have.length(2);
      } finally {
        await wire.close();
        await server.stop();
      }
    }
    const server = await answering([unavailable]);
    const wire = new SqsWire(sqsClient(3), noPause);
    try {
      const err = await failure(
        wire.deleteMessageBatch({ QueueUrl: server.url, Entries: [{ Id: "0", ReceiptHandle: "r" }] }),
      );
      expect([err.name, asCallError(err).statusCode, err.message]).to.deep.equal([
        "Http503",
        503,
        "<html>Service Unavailable</html>",
      ]);
      expect(server.received).to.have.length(3);
    } finally {
      await wire.close();
      await server.stop();
    }
  });

  it("retries a refused connection, then throws it", async () => {
    const server = await answering([OK_BATCH]);
    const url = server.url;
    await server.stop(); // the port it opened is closed again: connecting to it is refused
    let pauses = 0;
    const wire = new SqsWire(sqsClient(), { retryDelayMs: () => (pauses++, 1) });
    try {
      const err = await failure(wire.receiveMessage({ QueueUrl: url, WaitTimeSeconds: 0 }));
      expect((err as { code?: string }).code).to.equal("ECONNREFUSED");
      expect(pauses).to.equal(1);
    } finally {
      await wire.close();
    }
  });

  it("refuses a message or a sent entry whose digest does not match its body", async () => {
    const server = await answering([
      {
        status: 200,
        body: JSON.stringify({
          Messages: [{ MessageId: "m", ReceiptHandle: "r", Body: "x", MD5OfBody: md5("y") }],
        }),
      },
      { status: 200, body: JSON.stringify({ Successful: [{ Id: "0", MD5OfMessageBody: md5("y") }] }) },
    ]);
    const wire = new SqsWire(sqsClient(1), noPause);
    try {
      expect(await failure(wire.receiveMessage({ QueueUrl: server.url }))).to.be.instanceOf(SqsChecksumError);
      expect(
        await failure(
          wire.sendMessageBatch({ QueueUrl: server.url, Entries: [{ Id: "0", MessageBody: "x" }] }),
        ),
      ).to.be.instanceOf(SqsChecksumError);
    } finally {
      await wire.close();
      await server.stop();
    }
  });
});

function asCallError(err: Error): SqsCallError {
  if (err instanceof SqsCallError) return err;
  throw err;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}
