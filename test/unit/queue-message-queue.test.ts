/**
 * One queue of the queue service (emulator/queue/message-queue.ts) on a clock moved by hand: what
 * becomes visible when, receive counts and redrive, receipt handle semantics, retention, purge, and
 * long polls answered by a send, by a visibility timeout ending, or dropped when their client goes.
 */
import { expect } from "chai";
import { MessageQueue, QueueClock, Received } from "../../emulator/queue/message-queue";
import { DEFAULT_SETTINGS, QueueSettings } from "../../emulator/queue/queue-attributes";
import { SqsError } from "../../emulator/queue/errors";

class ManualClock implements QueueClock {
  private t = 1_700_000_000_000;
  private timers: { at: number; fn: () => void }[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing each timer at its own instant, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

function queueOf(clock: ManualClock, settings: Partial<QueueSettings> = {}, dlq?: MessageQueue, name = "q") {
  return new MessageQueue(
    name,
    `arn:aws:sqs:us-east-1:000000000000:${name}`,
    { ...DEFAULT_SETTINGS, ...settings },
    clock,
    (arn) => (dlq?.arn === arn ? dlq : undefined),
    "000000000000",
    60_000,
  );
}

const bodies = (received: Received[]) => received.map((r) => r.message.body);
const take = (q: MessageQueue, max = 10, visibilityTimeoutS = 30) =>
  q.receive({ max, visibilityTimeoutS, waitS: 0 });
const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
  } catch (err) {
    if (err instanceof SqsError) return err.code;
    throw err;
  }
  return undefined;
};

describe("queue service: MessageQueue", () => {
  let clock: ManualClock;
  beforeEach(() => (clock = new ManualClock()));

  it("hands out messages in the order sent, hides them for the visibility timeout, then shows them again", async () => {
    const q = queueOf(clock);
    for (const body of ["a", "b", "c"]) q.send(body, {}, undefined);
    expect(bodies(await take(q, 2, 10))).to.deep.equal(["a", "b"]);
    expect(q.counts).to.deep.equal({ visible: 1, inflight: 2, delayed: 0 });
    clock.advance(9_999);
    expect(bodies(await take(q))).to.deep.equal(["c"]);
    clock.advance(1);
    const again = await take(q);
    expect(bodies(again)).to.deep.equal(["a", "b"]);
    expect(again.map((r) => r.message.receiveCount)).to.deep.equal([2, 2]);
  });

  it("delays a message by the queue's DelaySeconds or its own", async () => {
    const q = queueOf(clock, { delaySeconds: 5 });
    q.send("queue delay", {}, undefined);
    q.send("no delay", {}, 0);
    q.send("own delay", {}, 2);
    expect(bodies(await take(q))).to.deep.equal(["no delay"]);
    expect(q.counts.delayed).to.equal(2);
    clock.advance(2000);
    expect(bodies(await take(q))).to.deep.equal(["own delay"]);
    clock.advance(3000);
    expect(bodies(await take(q))).to.deep.equal(["queue delay"]);
  });

  it("deletes with the latest receipt handle only; an older well-formed one is accepted and does nothing", async () => {
    const q = queueOf(clock);
    q.send("m", {}, undefined);
    const [first] = await take(q, 1, 0);
    const [second] = await take(q, 1, 30);
    expect(second!.receipt).to.not.equal(first!.receipt);
    q.delete(first!.receipt);
    expect(q.counts.inflight).to.equal(1);
    q.delete(second!.receipt);
    expect(q.counts).to.deep.equal({ visible: 0, inflight: 0, delayed: 0 });
    q.delete(second!.receipt); // again: still accepted
    expect(codeOf(() => q.delete("not a handle"))).to.equal("ReceiptHandleIsInvalid");
    const other = queueOf(clock, {}, undefined, "other");
    expect(codeOf(() => other.delete(second!.receipt))).to.equal("ReceiptHandleIsInvalid");
  });

  it("deletes a message that became visible again with the handle of its last receive", async () => {
    const q = queueOf(clock);
    q.send("m", {}, undefined);
    const [r] = await take(q, 1, 1);
    clock.advance(1000);
    expect(q.counts.visible).to.equal(1);
    q.delete(r!.receipt);
    expect(q.counts).to.deep.equal({ visible: 0, inflight: 0, delayed: 0 });
  });

  it("changes visibility of a message in flight only: 0 shows it now, more hides it longer", async () => {
    const q = queueOf(clock);
    q.send("m", {}, undefined);
    const [r] = await take(q, 1, 10);
    q.changeVisibility(r!.receipt, 60);
    clock.advance(30_000);
    expect(await take(q)).to.deep.equal([]);
    q.changeVisibility(r!.receipt, 0);
    expect(codeOf(() => q.changeVisibility(r!.receipt, 10))).to.equal("MessageNotInflight");
    const [again] = await take(q, 1, 10);
    expect(again?.message.id).to.equal(r!.message.id);
    expect(codeOf(() => q.changeVisibility(r!.receipt, 10))).to.equal("InvalidParameterValue");
  });

  it("moves a message received maxReceiveCount times to the dead-letter queue on the next receive, keeping its id and count", async () => {
    const dlq = queueOf(clock, {}, undefined, "dlq");
    const q = queueOf(clock, { redrivePolicy: { deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 } }, dlq);
    const sent = q.send("poison", {}, undefined);
    q.send("fine", {}, undefined);
    await take(q, 1, 0);
    await take(q, 1, 0); // "fine" is next in line now: "poison" went to the back
    await take(q, 1, 0);
    const got = await take(q, 10, 30);
    expect(bodies(got)).to.deep.equal(["fine"]);
    expect(q.counts).to.deep.equal({ visible: 0, inflight: 1, delayed: 0 });
    const [dead] = await take(dlq);
    expect(dead?.message.id).to.equal(sent.id);
    expect(dead?.message.receiveCount).to.equal(3);
  });

  it("drops messages older than the retention period, wherever they are", async () => {
    const q = queueOf(clock, { messageRetentionPeriod: 60 });
    q.send("old in flight", {}, undefined);
    q.send("old visible", {}, undefined);
    await take(q, 1, 600);
    clock.advance(30_000);
    q.send("new", {}, undefined);
    clock.advance(30_000);
    expect(q.counts).to.deep.equal({ visible: 1, inflight: 0, delayed: 0 });
    expect(bodies(await take(q))).to.deep.equal(["new"]);
  });

  it("purges everything, and refuses a second purge within 60 s", async () => {
    const q = queueOf(clock);
    q.send("a", {}, undefined);
    q.send("b", {}, 10);
    const [r] = await take(q, 1);
    q.purge();
    expect(q.counts).to.deep.equal({ visible: 0, inflight: 0, delayed: 0 });
    q.delete(r!.receipt); // the handle is gone, not invalid
    expect(codeOf(() => q.purge())).to.equal("PurgeQueueInProgress");
    clock.advance(60_000);
    q.purge();
  });

  it("answers a long poll when a message is sent, up to its maximum, oldest poll first", async () => {
    const q = queueOf(clock);
    const first = q.receive({ max: 2, visibilityTimeoutS: 30, waitS: 20 });
    const second = q.receive({ max: 10, visibilityTimeoutS: 30, waitS: 20 });
    for (const body of ["a", "b", "c"]) q.send(body, {}, undefined);
    q.notify();
    expect(bodies(await first)).to.deep.equal(["a", "b"]);
    expect(bodies(await second)).to.deep.equal(["c"]);
    expect(clock.pending).to.equal(0);
  });

  it("answers a long poll when a visibility timeout ends, and empty when its wait ends", async () => {
    const q = queueOf(clock);
    q.send("m", {}, undefined);
    await take(q, 1, 5);
    const waiting = q.receive({ max: 1, visibilityTimeoutS: 30, waitS: 20 });
    clock.advance(5000);
    expect(bodies(await waiting)).to.deep.equal(["m"]);
    const empty = q.receive({ max: 1, visibilityTimeoutS: 30, waitS: 20 });
    clock.advance(20_000);
    expect(await empty).to.deep.equal([]);
    expect(clock.pending).to.equal(0); // with no poll waiting, no timer watches the in-flight deadline
  });

  it("takes nothing for a long poll whose client went away", async () => {
    const q = queueOf(clock);
    const gone = new AbortController();
    const poll = q.receive({ max: 1, visibilityTimeoutS: 30, waitS: 20, signal: gone.signal });
    gone.abort();
    expect(await poll).to.deep.equal([]);
    q.send("m", {}, undefined);
    q.notify();
    expect(q.counts).to.deep.equal({ visible: 1, inflight: 0, delayed: 0 });
    expect(clock.pending).to.equal(0);
  });

  it("costs about the same per receive and delete with 100 000 messages waiting as with none", async () => {
    // A queue that scanned its backlog (as moto's does) would be thousands of times slower here; the
    // bound is loose so that a loaded machine does not fail it.
    const costPerMessage = async (backlog: number): Promise<number> => {
      const q = queueOf(clock);
      for (let i = 0; i < backlog; i++) q.send(`old ${i}`, {}, undefined);
      let best = Infinity;
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        for (let i = 0; i < 2000; i++) {
          for (let j = 0; j < 10; j++) q.send("new", {}, undefined);
          for (const r of await take(q, 10, 30)) q.delete(r.receipt);
        }
        best = Math.min(best, (performance.now() - started) / 20_000);
      }
      expect(q.counts.visible).to.equal(backlog);
      return best;
    };
    await costPerMessage(0); // warm-up
    const empty = await costPerMessage(0);
    const deep = await costPerMessage(100_000);
    expect(deep / empty).to.be.below(5);
  });
});
