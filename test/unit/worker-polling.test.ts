import { expect } from "chai";
import { getEventListeners } from "node:events";
import pino from "pino";
import { Poller } from "../../services/worker/poller";
import { Slots } from "../../services/worker/slots";
import { TaskMessage, TaskSource } from "../../services/worker/task-source";

const quiet = pino({ level: "silent" });

/** Resolves once `condition` holds, checking after every macrotask; fails after `ms`. */
async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setImmediate(r));
  }
}

describe("Slots", () => {
  it("reserves at most what is free, and settling turns reservations into running slots", async () => {
    const slots = new Slots(4);
    const signal = new AbortController().signal;
    expect(await slots.reserve(3, signal)).to.equal(3);
    expect(await slots.reserve(3, signal), "only one left").to.equal(1);
    slots.settle(3, 2);
    expect(slots.inUse).to.equal(2);
    expect(await slots.reserve(10, signal), "the unreceived one is free again").to.equal(1);
    slots.settle(1, 1);
    slots.settle(1, 0);
    expect(slots.inUse).to.equal(3);
    slots.release();
    expect(slots.inUse).to.equal(2);
    expect(await slots.reserve(10, signal)).to.equal(2);
  });

  it("waits while every slot is taken or reserved, and a release wakes it", async () => {
    const slots = new Slots(1);
    const signal = new AbortController().signal;
    expect(await slots.reserve(1, signal)).to.equal(1);
    let got: number | undefined;
    const waiting = slots.reserve(1, signal).then((n) => (got = n));
    await new Promise((r) => setImmediate(r));
    expect(got, "nothing free while the reservation stands").to.equal(undefined);
    slots.settle(1, 1);
    await new Promise((r) => setImmediate(r));
    expect(got, "still running").to.equal(undefined);
    slots.release();
    await waiting;
    expect(got).to.equal(1);
  });

  it("gives up waiting when the signal aborts, and leaves no listener behind on it", async () => {
    const slots = new Slots(1);
    const stop = new AbortController();
    await slots.reserve(1, stop.signal);
    slots.settle(1, 1);
    // Many waits on one long-lived signal, each ended by a release, as in a worker's life.
    for (let i = 0; i < 20; i++) {
      const waiting = slots.reserve(1, stop.signal);
      slots.release();
      expect(await waiting).to.equal(1);
      slots.settle(1, 1);
    }
    expect(getEventListeners(stop.signal, "abort")).to.have.length(0);
    const waiting = slots.reserve(1, stop.signal);
    stop.abort();
    expect(await waiting).to.equal(0);
    expect(await slots.reserve(1, stop.signal), "an aborted signal never waits").to.equal(0);
  });
});

describe("Poller", () => {
  /** A queue of `total` messages handed out in the sizes asked for; `failures` receives fail first. */
  function fakeSource(total: number, failures = 0) {
    let next = 0;
    let failed = 0;
    const asked: number[] = [];
    const source: TaskSource = {
      receive: (max, _wait, signal) => {
        asked.push(max);
        if (failed < failures) {
          failed += 1;
          return Promise.reject(new Error("endpoint unreachable"));
        }
        const n = Math.min(max, total - next);
        if (n === 0) {
          // A long poll on an empty queue: returns when the worker stops.
          return new Promise((resolve) => signal.addEventListener("abort", () => resolve([])));
        }
        const batch = Array.from({ length: n }, (): TaskMessage => {
          next += 1;
          return { body: String(next), receipt: `r-${next}`, receiveCount: 1 };
        });
        return Promise.resolve(batch);
      },
      extendVisibility: () => Promise.resolve(),
      delete: () => Promise.resolve(),
      drain: () => Promise.resolve(),
    };
    return { source, asked, failedCount: () => failed };
  }

  it("never holds more messages than slots, and frees a slot when a message is done", async () => {
    const { source, asked } = fakeSource(12);
    const stop = new AbortController();
    const handled: string[] = [];
    const gates: (() => void)[] = [];
    let inHand = 0;
    let most = 0;
    const poller = new Poller({
      source,
      slots: 3,
      pollers: 2,
      waitSeconds: 20,
      handle: async (m) => {
        inHand += 1;
        most = Math.max(most, inHand);
        await new Promise<void>((r) => gates.push(r));
        inHand -= 1;
        handled.push(m.body ?? "");
      },
      log: quiet,
      signal: stop.signal,
    });
    const running = poller.run();
    while (handled.length < 12) {
      await until(() => gates.length > 0);
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    expect(most).to.equal(3);
    expect(Math.max(...asked), "each poller asks for its share, rounded up").to.equal(2);
    stop.abort();
    await running;
    await poller.settled();
    expect(poller.slotsInUse).to.equal(0);
    expect(handled.map(Number).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  });

  it("asks again once the messages it received are handled, or after the hand-off time, not at once", async () => {
    const { source: queue, asked } = fakeSource(100);
    // Two messages a receive, so slots stay free for the next one.
    const source: TaskSource = {
      ...queue,
      receive: (max, wait, signal) => queue.receive(Math.min(2, max), wait, signal),
    };
    const stop = new AbortController();
    const gates: (() => void)[] = [];
    const poller = new Poller({
      source,
      slots: 8,
      pollers: 1,
      waitSeconds: 20,
      handle: () => new Promise<void>((r) => gates.push(r)),
      log: quiet,
      signal: stop.signal,
      handOffMs: 300,
    });
    const running = poller.run();
    await until(() => gates.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(asked, "no second receive while its messages are being handled").to.have.length(1);
    for (const open of gates.splice(0)) open();
    await until(() => asked.length === 2, 200);
    // Now the handlers hang: the poller asks again when the hand-off time is up.
    const started = Date.now();
    await until(() => asked.length === 3, 2000);
    expect(Date.now() - started).to.be.within(250, 1000);
    stop.abort();
    for (const open of gates.splice(0)) open();
    await running;
    await poller.settled();
  });

  it("backs off after a failed receive and carries on, and a failed task frees its slot", async () => {
    const { source, failedCount } = fakeSource(2, 3);
    const stop = new AbortController();
    const lines: { msg: string }[] = [];
    const log = pino(
      { level: "warn" },
      { write: (l: string) => lines.push(JSON.parse(l) as { msg: string }) },
    );
    let handled = 0;
    const poller = new Poller({
      source,
      slots: 1,
      pollers: 1,
      waitSeconds: 20,
      handle: () => {
        handled += 1;
        return Promise.reject(new Error("boom"));
      },
      log,
      signal: stop.signal,
      receiveBackoff: { initialMs: 5, maxMs: 10 },
    });
    const running = poller.run();
    await until(() => handled === 2);
    stop.abort();
    await running;
    expect(failedCount()).to.equal(3);
    expect(lines.filter((l) => l.msg === "could not receive from the queue")).to.have.length(3);
    await poller.settled();
    expect(lines.filter((l) => l.msg === "task processing failed")).to.have.length(2);
    expect(poller.slotsInUse).to.equal(0);
    expect(poller.inFlight).to.equal(0);
  });
});
