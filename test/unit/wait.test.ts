import net from "node:net";
import { expect } from "chai";
import {
  httpAnswers,
  notYet,
  tcpListening,
  waitFor,
  WaitAbortedError,
  WaitTimeoutError,
} from "../../emulator/wait";
import { freePort } from "../../emulator/ports";
import http from "node:http";

describe("wait", () => {
  it("resolves with the first answer that holds", async () => {
    let calls = 0;
    const value = await waitFor("the third call", () => (++calls >= 3 ? { calls } : undefined), {
      timeoutMs: 2000,
      intervalMs: 1,
    });
    expect(value).to.deep.equal({ calls: 3 });
  });

  it("treats false, NotYet and a thrown error as not yet", async () => {
    const answers: (() => unknown)[] = [
      () => false,
      () => notYet("warming up"),
      () => {
        throw new Error("refused");
      },
      () => "done",
    ];
    let i = 0;
    const value = await waitFor("a mixed check", () => answers[i++]!(), { timeoutMs: 2000, intervalMs: 1 });
    expect(value).to.equal("done");
  });

  it("times out naming what it waited for and the last thing it saw", async () => {
    const started = Date.now();
    const err = await waitFor("the queue to drain", () => notYet("3 messages left"), {
      timeoutMs: 120,
      intervalMs: 20,
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(WaitTimeoutError);
    expect((err as Error).message).to.match(/waiting for the queue to drain \(last: 3 messages left\)/);
    expect(Date.now() - started).to.be.within(100, 1000);
  });

  it("keeps a thrown error's message as the last observation", async () => {
    const err = await waitFor(
      "the emulator",
      () => {
        throw new Error("ECONNREFUSED");
      },
      { timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect((err as WaitTimeoutError).last).to.equal("ECONNREFUSED");
  });

  it("gives up at once when abortIf answers a reason", async () => {
    let checks = 0;
    const err = await waitFor(
      "a port",
      () => {
        checks++;
        return undefined;
      },
      { timeoutMs: 5000, intervalMs: 1, abortIf: () => (checks >= 2 ? "the process exited" : undefined) },
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(WaitAbortedError);
    expect((err as Error).message).to.equal("gave up waiting for a port: the process exited");
    expect(checks).to.equal(2);
  });

  it("waits for a TCP listener", async () => {
    const port = await freePort();
    const closed = await tcpListening(port)();
    expect(closed)
      .to.be.instanceOf(Object)
      .and.have.property("reason")
      .that.matches(/ECONNREFUSED/);
    const server = net.createServer((s) => s.destroy());
    setTimeout(() => server.listen(port, "127.0.0.1"), 50);
    try {
      expect(await waitFor(`port ${port}`, tcpListening(port), { timeoutMs: 3000, intervalMs: 10 })).to.equal(
        true,
      );
    } finally {
      server.close();
    }
  });

  it("waits for an HTTP answer that the caller accepts", async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.statusCode = hits < 3 ? 503 : 200;
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as net.AddressInfo;
    try {
      const res = await waitFor("healthz", httpAnswers(`http://127.0.0.1:${port}/healthz`), {
        timeoutMs: 3000,
        intervalMs: 5,
      });
      expect(res.status).to.equal(200);
      expect(hits).to.equal(3);
      const err = await waitFor(
        "a 204",
        httpAnswers(`http://127.0.0.1:${port}/`, { accept: (r) => r.status === 204 }),
        { timeoutMs: 50, intervalMs: 5 },
      ).catch((e: unknown) => e);
      expect((err as Error).message).to.match(/last: http:\/\/127\.0\.0\.1:\d+\/ answered 200/);
    } finally {
      server.close();
    }
  });
});
