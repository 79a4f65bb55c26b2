import { expect } from "chai";
import { Batcher } from "../../services/common/batcher";

describe("Batcher", () => {
  it("sends a lone item at once, and batches items that arrive while a batch is in flight", async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number>({
      maxEntries: 10,
      maxInFlight: 1,
      flush: async (items) => {
        batches.push(items);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return items.map(() => undefined);
      },
    });
    const first = batcher.add(0);
    const rest = Array.from({ length: 25 }, (_, i) => batcher.add(i + 1));
    expect(batches).to.deep.equal([[0]]);
    release();
    await Promise.all([first, ...rest]);
    expect(batches.map((b) => b.length)).to.deep.equal([1, 10, 10, 5]);
  });

  it("rejects only the items the flush says failed", async () => {
    const batcher = new Batcher<number>({
      maxEntries: 10,
      maxInFlight: 1,
      flush: (items) => Promise.resolve(items.map((n) => (n % 2 ? new Error(`odd ${n}`) : undefined))),
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.add(n)));
    expect(outcomes.map((o) => o.status)).to.deep.equal(["rejected", "fulfilled", "rejected", "fulfilled"]);
  });

  it("rejects the whole batch when the flush throws", async () => {
    const batcher = new Batcher<number>({
      maxEntries: 10,
      maxInFlight: 2,
      flush: () => Promise.reject(new Error("down")),
    });
    const outcome = await Promise.allSettled([batcher.add(1)]);
    expect(outcome.map((o) => o.status)).to.deep.equal(["rejected"]);
  });

  it("keeps a batch under maxBytes", async () => {
    const sizes: number[] = [];
    let gate: () => void = () => undefined;
    const batcher = new Batcher<string>({
      maxEntries: 10,
      maxInFlight: 1,
      sizeOf: (s) => s.length,
      maxBytes: 25,
      flush: async (items) => {
        sizes.push(items.join("").length);
        if (sizes.length === 1) await new Promise<void>((r) => (gate = r));
        return items.map(() => undefined);
      },
    });
    const all = [batcher.add("x"), ...Array.from({ length: 6 }, () => batcher.add("0123456789"))];
    gate();
    await Promise.all(all);
    expect(Math.max(...sizes)).to.be.at.most(25);
    await batcher.drain();
  });

  describe("with lingerMs", () => {
    const collecting = (lingerMs: number) => {
      const batches: number[][] = [];
      const batcher = new Batcher<number>({
        maxEntries: 10,
        maxInFlight: 2,
        lingerMs,
        flush: (items) => {
          batches.push(items);
          return Promise.resolve(items.map(() => undefined));
        },
      });
      return { batches, batcher };
    };

    it("holds a batch that is not full for up to lingerMs, then sends what came meanwhile together", async () => {
      const { batches, batcher } = collecting(30);
      const first = batcher.add(1);
      await new Promise((r) => setTimeout(r, 5));
      const second = batcher.add(2);
      expect(batches, "nothing sent before the linger ends").to.deep.equal([]);
      await Promise.all([first, second]);
      expect(batches).to.deep.equal([[1, 2]]);
    });

    it("sends a full batch at once, without lingering", async () => {
      const { batches, batcher } = collecting(60_000);
      const all = Array.from({ length: 10 }, (_, i) => batcher.add(i));
      expect(batches.map((b) => b.length)).to.deep.equal([10]);
      await Promise.all(all);
    });

    it("sends what lingers at once when drained", async () => {
      const { batches, batcher } = collecting(60_000);
      const item = batcher.add(7);
      await batcher.drain();
      await item;
      expect(batches).to.deep.equal([[7]]);
    });
  });
});
