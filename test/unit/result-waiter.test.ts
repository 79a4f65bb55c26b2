/**
 * The synchronous caller's wait, with a fake subscriber connection (an EventEmitter that emits what
 * Redis would: "message" and "ready") and a fake store that counts its reads.
 */
import { expect } from "chai";
import { EventEmitter } from "node:events";
import { Redis } from "ioredis";
import { InvocationResult } from "../../contracts";
import { createLogger } from "../../services/common/logger";
import { ResultWaiter } from "../../services/controller/result-waiter";

const log = createLogger("test", "silent");
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const result = (invocationId: string, value: unknown = "ok"): InvocationResult => ({
  invocationId,
  function: "f",
  status: "succeeded",
  result: value,
  workerId: "w",
  durationMs: 5,
  coldStart: false,
  logs: "",
  finishedAt: 0,
});

function setup() {
  const subscriber = Object.assign(new EventEmitter(), {
    subscribe: () => Promise.resolve(1),
    disconnect: () => undefined,
  });
  const stored = new Map<string, InvocationResult>();
  const reads: string[] = [];
  const store = {
    getResult: (invocationId: string) => {
      reads.push(invocationId);
      return Promise.resolve(stored.get(invocationId));
    },
  };
  const seen: InvocationResult[] = [];
  const waiter = new ResultWaiter(subscriber as unknown as Redis, store, log, (r) => seen.push(r));
  const publish = (message: unknown) => subscriber.emit("message", "faas:results", JSON.stringify(message));
  return { subscriber, stored, reads, seen, waiter, publish };
}

describe("ResultWaiter", () => {
  it("settles the waiter of a published result, and only that one", async () => {
    const t = setup();
    const first = t.waiter.wait(id(1), 60_000);
    const second = t.waiter.wait(id(2), 60_000);
    t.publish(result(id(1), 42));
    expect(await first).to.deep.include({ invocationId: id(1), result: 42 });
    expect(t.waiter.size, "the other one still waits").to.equal(1);
    expect(t.reads, "an inline result needs no read").to.deep.equal([]);
    t.waiter.cancel(id(2));
    expect(await second).to.equal(undefined);
    expect(t.waiter.size).to.equal(0);
  });

  it("reads a large result from the store when only its notice is published", async () => {
    const t = setup();
    const big = result(id(3), "x".repeat(100_000));
    t.stored.set(id(3), big);
    const waiting = t.waiter.wait(id(3), 60_000);
    t.publish({ invocationId: id(3), notice: "stored" });
    expect(await waiting).to.deep.equal(big);
    expect(t.reads).to.deep.equal([id(3)]);
    expect(t.seen.map((r) => r.invocationId)).to.deep.equal([id(3)]);
  });

  it("ignores a notice for which the store holds no result", async () => {
    const t = setup();
    const waiting = t.waiter.wait(id(4), 30);
    t.publish({ invocationId: id(4), notice: "stored" });
    expect(await waiting, "the waiter ends at its timeout").to.equal(undefined);
    expect(t.seen).to.deep.equal([]);
  });

  it("re-reads the store once when the wait runs out, and returns what it finds", async () => {
    const t = setup();
    // Published while the subscriber was away: the waiter never heard of it.
    t.stored.set(id(5), result(id(5), "late"));
    expect(await t.waiter.wait(id(5), 20)).to.deep.include({ result: "late" });
    expect(await t.waiter.wait(id(6), 20)).to.equal(undefined);
    expect(t.reads).to.deep.equal([id(5), id(6)]);
    expect(t.waiter.size).to.equal(0);
  });

  it("re-reads every waiter after the subscriber reconnects", async () => {
    const t = setup();
    const waiting = t.waiter.wait(id(7), 60_000);
    const still = t.waiter.wait(id(8), 60_000);
    t.stored.set(id(7), result(id(7)));
    t.subscriber.emit("ready");
    expect(await waiting).to.deep.include({ invocationId: id(7) });
    expect(t.reads).to.deep.equal([id(7), id(8)]);
    expect(t.waiter.size).to.equal(1);
    t.waiter.close();
    expect(await still).to.equal(undefined);
  });

  it("hands one result to every request waiting for the invocation (repeats of an Idempotency-Key)", async () => {
    const t = setup();
    const waits = [t.waiter.wait(id(9), 60_000), t.waiter.wait(id(9), 60_000), t.waiter.wait(id(9), 60_000)];
    expect(t.waiter.size).to.equal(3);
    t.publish(result(id(9), 7));
    for (const answer of await Promise.all(waits)) expect(answer).to.deep.include({ result: 7 });
    expect(t.waiter.size).to.equal(0);
  });

  it("ends only the wait that ran out; the others of the invocation still get its result", async () => {
    const t = setup();
    const short = t.waiter.wait(id(10), 20);
    const long = t.waiter.wait(id(10), 60_000);
    expect(await short).to.equal(undefined);
    expect(t.waiter.size).to.equal(1);
    t.waiter.deliver(result(id(10), "found later"));
    expect(await long).to.deep.include({ result: "found later" });
    expect(t.waiter.size).to.equal(0);
  });
});
