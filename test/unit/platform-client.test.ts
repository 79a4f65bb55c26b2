import http from "node:http";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import {
  PlatformClient,
  PlatformError,
  PlatformUnreachableError,
  UnexpectedAnswerError,
} from "../../client/platform-client";
import { freePort } from "../../emulator/ports";

/** A stand-in platform that answers each path as the test says, and records what it was sent. */
async function fakePlatform(
  answer: (
    req: http.IncomingMessage,
    body: string,
  ) => { status: number; body: unknown; headers?: Record<string, string> },
) {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const out = answer(req, body);
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
      const err = await new PlatformClient(platform.endpoint, "key").workers().catch((e: unknown) => e);
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
    const err = await new PlatformClient(`http://127.0.0.1:${port}`, "key").health().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PlatformUnreachableError);
    expect((err as Error).message).to.match(
      /cannot reach the platform at http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/,
    );
  });
});
