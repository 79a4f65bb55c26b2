/**
 * The invocation store's Lua scripts against a real Redis (started here on a free port, with a
 * password, and stopped after): the lease, the exactly-once SET NX of the result, what is published on
 * the results channel, and the view the API answers with.
 */
import { expect } from "chai";
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { InvocationResult, RESULT_INLINE_BYTES } from "../../contracts";
import { LABEL_ENV } from "../../emulator/environment";
import { freePort } from "../../emulator/ports";
import { RedisHandle } from "../../emulator/redis-server";
import { InvocationStore, RESULTS_CHANNEL } from "../../services/common/invocation-store";

const TTL = 600;

describe("invocation store: Lua scripts on a real Redis", function () {
  this.timeout(30_000);
  let server: RedisHandle;
  let redis: Redis;
  let subscriber: Redis;
  let store: InvocationStore;
  const redisLog: string[] = [];
  const published: string[] = [];

  before(async () => {
    server = await RedisHandle.start(
      await freePort(),
      `store-test-${randomBytes(12).toString("hex")}`,
      { [LABEL_ENV]: `store-test-${process.pid}` },
      (_name, line) => redisLog.push(line),
    );
    redis = new Redis(server.url);
    subscriber = new Redis(server.url);
    await subscriber.subscribe(RESULTS_CHANNEL);
    subscriber.on("message", (_channel: string, message: string) => published.push(message));
    store = new InvocationStore(redis, TTL);
  });

  after(async () => {
    redis.disconnect();
    subscriber.disconnect();
    await server.stop();
  });

  beforeEach(() => {
    published.length = 0;
  });

  const result = (invocationId: string, workerId: string, value: unknown = "ok"): InvocationResult => ({
    invocationId,
    function: "f",
    status: "succeeded",
    result: value,
    workerId,
    durationMs: 12,
    coldStart: true,
    logs: "line\n",
    finishedAt: 1_700_000_000_000,
  });

  /** Waits for the subscriber to have received `n` messages since the test began. */
  async function publishedCount(n: number): Promise<string[]> {
    const deadline = Date.now() + 5000;
    while (published.length < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} published messages, got ${published.length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return [...published];
  }

  it("gives the lease to one worker at a time, counts attempts, and lets only its holder extend or release it", async () => {
    const id = randomUUID();
    await store.recordQueued(id, "f", 1000);
    expect(await store.acquireLease(id, "a", 10_000)).to.equal("acquired");
    expect(await store.acquireLease(id, "b", 10_000)).to.equal("held");
    expect(await redis.hgetall(`faas:inv:${id}`)).to.include({
      status: "running",
      workerId: "a",
      attempts: "1",
    });

    expect(await store.extendLease(id, "b", 60_000), "not b's lease").to.equal(false);
    expect(await store.extendLease(id, "a", 60_000)).to.equal(true);
    expect(await redis.pttl(`faas:lock:${id}`)).to.be.greaterThan(10_000);

    await store.releaseLease(id, "b");
    expect(await redis.get(`faas:lock:${id}`), "b cannot release a's lease").to.equal("a");
    await store.releaseLease(id, "a");
    expect(await redis.exists(`faas:lock:${id}`)).to.equal(0);

    expect(await store.acquireLease(id, "b", 10_000)).to.equal("acquired");
    expect(await redis.hgetall(`faas:inv:${id}`)).to.include({ workerId: "b", attempts: "2" });
    expect(await redis.ttl(`faas:inv:${id}`)).to.be.within(1, TTL);
  });

  it("lets the lease lapse on its own, so a dead worker's task runs again", async () => {
    const id = randomUUID();
    expect(await store.acquireLease(id, "a", 50)).to.equal("acquired");
    const deadline = Date.now() + 5000;
    let outcome = await store.acquireLease(id, "b", 10_000);
    while (outcome === "held" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      outcome = await store.acquireLease(id, "b", 10_000);
    }
    expect(outcome).to.equal("acquired");
    expect(await store.extendLease(id, "a", 10_000), "the lapsed holder cannot take it back").to.equal(false);
  });

  it("stores a result exactly once: stored, then duplicate; the first stands and the lease is gone", async () => {
    const id = randomUUID();
    await store.acquireLease(id, "a", 10_000);
    expect(await store.storeResult(result(id, "a", "first"))).to.equal("stored");
    expect(await redis.exists(`faas:lock:${id}`), "storing releases the lease").to.equal(0);
    expect(await store.storeResult(result(id, "a", "second"))).to.equal("duplicate");
    expect(await store.storeResult(result(id, "b", "third"))).to.equal("duplicate");
    expect((await store.getResult(id))?.result).to.equal("first");
    expect(await redis.ttl(`faas:result:${id}`)).to.be.within(1, TTL);
    expect(await store.acquireLease(id, "c", 10_000), "a finished invocation is never leased again").to.equal(
      "finished",
    );
    // Published after the duplicates on the same connection, so it arrives after anything they published.
    await redis.publish(RESULTS_CHANNEL, "marker");
    const messages = await publishedCount(2);
    expect(messages, "duplicates publish nothing").to.have.length(2);
    expect(JSON.parse(messages[0] ?? "")).to.deep.equal(result(id, "a", "first"));
    expect(messages[1]).to.equal("marker");
  });

  it("refuses a result from a worker whose lease another worker now holds (lease-lost), storing nothing", async () => {
    const id = randomUUID();
    await store.acquireLease(id, "b", 10_000);
    expect(await store.storeResult(result(id, "a"))).to.equal("lease-lost");
    expect(await store.getResult(id)).to.equal(undefined);
    expect(await redis.get(`faas:lock:${id}`), "b keeps its lease").to.equal("b");
    expect(await store.storeResult(result(id, "b"))).to.equal("stored");
  });

  it("stores a result whose lease lapsed while nobody else took it", async () => {
    const id = randomUUID();
    expect(await store.storeResult(result(id, "a"))).to.equal("stored");
    expect((await store.getResult(id))?.workerId).to.equal("a");
  });

  it("publishes a large result as a notice; the store keeps all of it", async () => {
    const small = randomUUID();
    const large = randomUUID();
    const big = result(large, "a", "x".repeat(RESULT_INLINE_BYTES));
    expect(await store.storeResult(result(small, "a"))).to.equal("stored");
    expect(await store.storeResult(big)).to.equal("stored");
    const [first, second] = await publishedCount(2);
    expect(JSON.parse(first ?? "")).to.deep.equal(result(small, "a"));
    expect(JSON.parse(second ?? "")).to.deep.equal({ invocationId: large, notice: "stored" });
    expect(await store.getResult(large)).to.deep.equal(big);
  });

  it("views an invocation from queued through running to its result", async () => {
    const id = randomUUID();
    expect(await store.view(id), "unknown").to.equal(undefined);

    await store.recordQueued(id, "f", 1234);
    expect(await store.view(id)).to.deep.include({
      id,
      function: "f",
      status: "queued",
      attempts: 0,
      workerId: null,
      enqueuedAt: 1234,
      finishedAt: null,
      logs: "",
    });

    await store.acquireLease(id, "a", 10_000);
    expect(await store.view(id)).to.deep.include({ status: "running", attempts: 1, workerId: "a" });

    await store.storeResult({
      ...result(id, "a"),
      status: "failed",
      error: { type: "Error", message: "no" },
    });
    expect(await store.view(id)).to.deep.include({
      status: "failed",
      attempts: 1,
      workerId: "a",
      durationMs: 12,
      coldStart: true,
      logs: "line\n",
      error: { type: "Error", message: "no" },
      finishedAt: 1_700_000_000_000,
    });

    await store.forget(id);
    expect(await store.view(id), "the result alone still answers").to.deep.include({
      status: "failed",
      function: "unknown",
    });
  });

  // Last: it kills the server. The local Redis appends every write (AOF) and fsyncs every second: a
  // write is in the kernel's page cache before Redis answers it, so a killed Redis process loses
  // nothing it acknowledged (only the host's crash could; docs/performance.md, "Redis: fsync every second").
  it("keeps every acknowledged result through a SIGKILL of Redis", async () => {
    const ids = Array.from({ length: 200 }, () => randomUUID());
    for (const id of ids) {
      await store.acquireLease(id, "a", 60_000);
      expect(await store.storeResult(result(id, "a", id))).to.equal("stored");
    }
    await server.restart(0, true);
    const after = new Redis(server.url);
    try {
      const fresh = new InvocationStore(after, TTL);
      const kept = await Promise.all(ids.map((id) => fresh.getResult(id)));
      expect(kept.map((r) => r?.result)).to.deep.equal(ids);
    } finally {
      after.disconnect();
    }
  });
});
