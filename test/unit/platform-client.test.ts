import http from "node:http";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import {
  PlatformClient,
  PlatformError,
  PlatformUnreachableError,
  retryAfter,
  RetryEvent,
  UnexpectedAnswerError,
} from "../../client/platform-client";
import { freePort } from "../../emulator/ports";

/** A stand-in platform that answers each path as the test says, and records what it was sent. */
async function fakePlatform(
  answer: (
    req: http.IncomingMessage,
    body: string,
  ) => { status: number; body: unknown; headers?: Record<string, string> } | "reset",
) {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const out = answer(req, body);
      if (out === "reset") {
        req.socket.destroy();
        return;
      }
      res.writeHead(out.status, { "content-type": "application/json", ...out.headers });
      res.end(typeof out.body === "string" ? out.body : JSON.stringify(out.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, seen, close: () => server.close() };
}

describe("the platform client", () => {
  it("sends the key and the event, and parses the answer with the contract", async () => {
    const id = randomUUID();
    const platform = await fakePlatform(() => ({ status: 202, body: { invocationId: id } }));
    try {
      const client = new PlatformClient(platform.endpoint, "k".repeat(20));
      expect(await client.invokeAsync("hello world", { n: 1 })).to.deep.equal({ invocationId: id });
      const sent = platform.seen[0]!;
      expect(sent.method).to.equal("POST");
      expect(sent.url).to.equal("/api/functions/hello%20world/invoke");
      expect(sent.headers.authorization).to.equal(`Bearer ${"k".repeat(20)}`);
      expect(sent.headers["x-invocation-type"]).to.equal("Event");
      expect(JSON.parse(sent.body)).to.deep.equal({ n: 1 });
    } finally {
      platform.close();
    }
  });

  it("turns an error body into a PlatformError with its code", async () => {
    const platform = await fakePlatform(() => ({
      status: 404,
      body: { error: { code: "NotFound", message: "no function nope" } },
    }));
    try {
      const err = await new PlatformClient(platform.endpoint, "key")
        .getFunction("nope")
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PlatformError);
      expect(err).to.include({ status: 404, code: "NotFound", message: "no function nope" });
    } finally {
      platform.close();
    }
  });

  it("keeps an answer that is not the contract's error as a PlatformError without a code", async () => {
    const platform = await fakePlatform(() => ({ status: 502, body: "Bad Gateway" }));
    try {
      const err = await new PlatformClient(platform.endpoint, "key", { retry: false })
        .workers()
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PlatformError);
      expect((err as PlatformError).code).to.equal(undefined);
      expect((err as Error).message).to.equal("the platform answered 502: Bad Gateway");
    } finally {
      platform.close();
    }
  });

  it("rejects a 2xx answer the contract does not allow", async () => {
    const platform = await fakePlatform(() => ({ status: 202, body: { invocationId: "not-a-uuid" } }));
    try {
      const err = await new PlatformClient(platform.endpoint, "key")
        .invokeAsync("f", {})
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UnexpectedAnswerError);
    } finally {
      platform.close();
    }
  });

  it("returns a function's error as an outcome, with the invocation's headers", async () => {
    const id = randomUUID();
    const platform = await fakePlatform(() => ({
      status: 500,
      body: { errorMessage: "boom" },
      headers: {
        "x-invocation-id": id,
        "x-function-error": "Unhandled",
        "x-duration-ms": "12",
        "x-cold-start": "true",
        "x-worker-id": "i-1",
      },
    }));
    try {
      const out = await new PlatformClient(platform.endpoint, "key").invoke("f", {});
      expect(out).to.deep.equal({
        status: 500,
        body: { errorMessage: "boom" },
        invocationId: id,
        workerId: "i-1",
        durationMs: 12,
        coldStart: true,
        functionError: "Unhandled",
      });
    } finally {
      platform.close();
    }
  });

  it("says the platform is unreachable when nothing listens", async () => {
    const port = await freePort();
    const err = await new PlatformClient(`http://127.0.0.1:${port}`, "key", { retry: false })
      .health()
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PlatformUnreachableError);
    expect((err as Error).message).to.match(
      /cannot reach the platform at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/,
    );
  });
});

describe("the platform client's retries", () => {
  const accepted = (id: string) => ({ status: 202, body: { invocationId: id } });
  const unavailable = (headers: Record<string, string> = {}) => ({
    status: 503,
    body: { error: { code: "ServiceUnavailable", message: "queue down" } },
    headers,
  });
  const fast = { initialDelayMs: 5, maxDelayMs: 20 };

  it("sends an Idempotency-Key with every invoke: a new UUID each call, or the caller's", async () => {
    const id = randomUUID();
    const platform = await fakePlatform(() => accepted(id));
    try {
      const client = new PlatformClient(platform.endpoint, "key");
      await client.invokeAsync("f", {});
      await client.invokeAsync("f", {});
      await client.invokeAsync("f", {}, { idempotencyKey: "order-42" });
      const keys = platform.seen.map((s) => s.headers["idempotency-key"]);
      expect(keys[0]).to.match(/^[0-9a-f-]{36}$/);
      expect(keys[1]).to.match(/^[0-9a-f-]{36}$/);
      expect(keys[0]).not.to.equal(keys[1]);
      expect(keys[2]).to.equal("order-42");
    } finally {
      platform.close();
    }
  });

  it("retries 503, 502, 429 and reset connections with the same key, and reports each retry", async () => {
    const id = randomUUID();
    const script: ReturnType<Parameters<typeof fakePlatform>[0]>[] = [
      unavailable(),
      "reset",
      { status: 502, body: "Bad Gateway" },
      { status: 429, body: { error: { code: "TooManyRequests", message: "full" } } },
      accepted(id),
    ];
    const platform = await fakePlatform(() => script.shift() ?? accepted(id));
    try {
      const events: RetryEvent[] = [];
      const client = new PlatformClient(platform.endpoint, "key", {
        retry: fast,
        onRetry: (e) => events.push(e),
      });
      expect(await client.invokeAsync("f", {})).to.deep.equal({ invocationId: id });
      expect(events.map((e) => e.status)).to.deep.equal([503, 0, 502, 429]);
      expect(events.map((e) => e.attempt)).to.deep.equal([1, 2, 3, 4]);
      expect(events[1]?.error).to.be.instanceOf(PlatformUnreachableError);
      const keys = new Set(platform.seen.map((s) => s.headers["idempotency-key"]));
      expect(keys.size, "one key for every attempt").to.equal(1);
      expect(events[0]?.idempotencyKey).to.equal([...keys][0]);
      expect(client.stats).to.deep.equal({ calls: 1, attempts: 5, retries: 4 });
    } finally {
      platform.close();
    }
  });

  it("resumes a synchronous call whose connection died: the retry with the same key gets the result", async () => {
    const id = randomUUID();
    let first = true;
    const platform = await fakePlatform(() => {
      if (first) {
        first = false;
        return "reset";
      }
      return { status: 200, body: { done: true }, headers: { "x-invocation-id": id } };
    });
    try {
      const out = await new PlatformClient(platform.endpoint, "key", { retry: fast }).invoke("f", { n: 1 });
      expect(out).to.include({ status: 200, invocationId: id });
      expect(platform.seen).to.have.length(2);
      expect(platform.seen[0]?.headers["idempotency-key"]).to.equal(
        platform.seen[1]?.headers["idempotency-key"],
      );
      expect(platform.seen[1]?.body).to.equal(JSON.stringify({ n: 1 }));
    } finally {
      platform.close();
    }
  });

  it("waits at least the answer's Retry-After", async () => {
    const id = randomUUID();
    const script = [unavailable({ "retry-after": "1" })];
    const platform = await fakePlatform(() => script.shift() ?? accepted(id));
    try {
      const events: RetryEvent[] = [];
      const started = Date.now();
      await new PlatformClient(platform.endpoint, "key", { retry: fast }).invokeAsync(
        "f",
        {},
        {
          onRetry: (e) => events.push(e),
        },
      );
      expect(events[0]?.delayMs).to.equal(1000);
      expect(Date.now() - started).to.be.at.least(1000);
    } finally {
      platform.close();
    }
  });

  it("gives up at the deadline: an outage longer than it is the caller's error", async () => {
    const platform = await fakePlatform(() => unavailable());
    try {
      const client = new PlatformClient(platform.endpoint, "key", { retry: { ...fast, deadlineMs: 300 } });
      const started = Date.now();
      const err = await client.invokeAsync("f", {}).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PlatformError);
      expect(err).to.include({ status: 503, code: "ServiceUnavailable" });
      expect(Date.now() - started).to.be.within(200, 1000);
      expect(client.stats.retries).to.be.greaterThan(3);
    } finally {
      platform.close();
    }
    const port = await freePort();
    const down = new PlatformClient(`http://127.0.0.1:${port}`, "key", {
      retry: { ...fast, deadlineMs: 200 },
    });
    expect(await down.health().catch((e: unknown) => e)).to.be.instanceOf(PlatformUnreachableError);
  });

  it("cuts off an attempt still running at the deadline", async () => {
    const platform = await fakePlatform(() => ({ status: 200, body: {} }));
    const hanging = http.createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    try {
      const { port } = hanging.address() as net.AddressInfo;
      const client = new PlatformClient(`http://127.0.0.1:${port}`, "key", { retry: { deadlineMs: 300 } });
      const started = Date.now();
      const err = await client.invoke("f", {}).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PlatformUnreachableError);
      expect((err as Error).message).to.match(/deadline of 300 ms/);
      expect(Date.now() - started).to.be.below(1500);
    } finally {
      hanging.closeAllConnections();
      hanging.close();
      platform.close();
    }
  });

  it("does not retry what another attempt cannot change: 4xx, a function's error, a 500", async () => {
    const answers = [
      { status: 400, body: { error: { code: "BadRequest", message: "bad" } } },
      { status: 422, body: { error: { code: "IdempotencyKeyReused", message: "other request" } } },
      { status: 500, body: { error: { code: "InternalError", message: "bug" } } },
    ];
    for (const answer of answers) {
      const platform = await fakePlatform(() => answer);
      try {
        const client = new PlatformClient(platform.endpoint, "key", { retry: fast });
        const err = await client.invokeAsync("f", {}).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(PlatformError);
        expect(platform.seen, String(answer.status)).to.have.length(1);
      } finally {
        platform.close();
      }
    }
    const failing = await fakePlatform(() => ({
      status: 500,
      body: { error: { code: "FunctionError", message: "boom" } },
      headers: { "x-function-error": "Unhandled" },
    }));
    try {
      const out = await new PlatformClient(failing.endpoint, "key", { retry: fast }).invoke("f", {});
      expect(out.functionError).to.equal("Unhandled");
      expect(failing.seen).to.have.length(1);
    } finally {
      failing.close();
    }
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfter("3", now)).to.equal(3000);
    expect(retryAfter("Thu, 01 Jan 2026 00:00:02 GMT", now)).to.equal(2000);
    expect(retryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now)).to.equal(0);
    expect(retryAfter("soon", now)).to.equal(undefined);
    expect(retryAfter(null, now)).to.equal(undefined);
  });
});
