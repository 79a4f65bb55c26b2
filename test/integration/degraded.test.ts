import { expect } from "chai";
import { ErrorBody } from "../../contracts";
import { RedisHandle } from "../../emulator/redis-server";
import { FUNCTIONS } from "../fixtures/functions";
import { waitFor } from "../../emulator/wait";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

describe("degraded platform: no workers, saturation, store down", function () {
  this.timeout(60_000);
  let t: TestEnvironment;

  before(async () => {
    // Its own Redis: the last test stops it.
    t = await startTestEnvironment({
      ownRedis: true,
      workers: 0,
      controllerEnv: { FAAS_SYNC_WAIT_EXTRA_MS: "700", FAAS_MAX_SYNC_WAITERS: "2" },
    });
    const res = await t.api.deploy("echo", FUNCTIONS.echo, { timeoutMs: 300 });
    expect(res.status, res.text).to.equal(201);
  });
  after(async () => {
    await t.env.stop();
  });

  it("504 with the invocation id when a synchronous wait runs out; the invocation stays queued", async () => {
    const res = await t.api.invoke("echo");
    expect(res.status).to.equal(504);
    const id = ErrorBody.parse(res.body).error.invocationId ?? "";
    expect(res.body).to.have.nested.property("error.code", "GatewayTimeout");
    expect(res.headers.get("x-invocation-id")).to.equal(id);
    const view = await t.api.invocation(id);
    expect(view.status).to.equal(200);
    expect(view.body).to.include({ status: "queued", attempts: 0 });
  });

  it("429 when too many synchronous callers already wait", async () => {
    const waiting = [t.api.invoke("echo"), t.api.invoke("echo")];
    await waitFor(
      "the controller to count two synchronous waiters",
      async () => /^faas_sync_waiters 2$/m.test(await t.api.client.metrics()),
      { timeoutMs: 5000 },
    );
    const third = await t.api.invoke("echo");
    expect(third.status).to.equal(429);
    expect(third.body).to.have.nested.property("error.code", "TooManyRequests");
    expect(third.headers.get("retry-after")).to.equal("1");
    const async = await t.api.invokeAsync("echo");
    expect(async.status, "asynchronous calls do not wait, so they are still accepted").to.equal(202);
    const waited = await Promise.all(waiting);
    expect(
      waited.map((w) => w.status),
      "the two waiters were not refused: their waits ran out",
    ).to.deep.equal([504, 504]);
  });

  it("503 when the result store is unreachable, and nothing is accepted", async () => {
    const redis = t.env.redis;
    if (!(redis instanceof RedisHandle))
      throw new Error("the test environment's Redis is not a local process");
    await redis.stopProcess();
    const res = await t.api.invokeAsync("echo");
    expect(res.status).to.equal(503);
    expect(res.body).to.have.nested.property("error.code", "ServiceUnavailable");
    expect(res.headers.get("x-invocation-id"), "no invocation id was handed out").to.equal(null);
  });
});
