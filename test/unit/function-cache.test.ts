/**
 * The invoke path's cache of function records, with a store that counts its reads and answers when
 * told to, and a clock the test moves.
 */
import { expect } from "chai";
import { FunctionRecord } from "../../contracts";
import { FunctionCache } from "../../services/controller/http/function-cache";
import { FunctionStore } from "../../services/controller/function-store";
import { RECORD } from "../fixtures/controller";

function setup(maxEntries?: number) {
  let now = 0;
  const records = new Map<string, FunctionRecord>([["f", { ...RECORD, name: "f", version: 1 }]]);
  const reads: string[] = [];
  let gate: Promise<void> | undefined;
  let failing = false;
  const store = {
    get: async (name: string) => {
      reads.push(name);
      if (gate !== undefined) await gate;
      if (failing) throw new Error("DynamoDB is down");
      return records.get(name);
    },
  } as unknown as FunctionStore;
  const cache = new FunctionCache(store, 2000, maxEntries, () => now);
  return {
    cache,
    reads,
    records,
    advance: (ms: number) => (now += ms),
    hold: () => {
      let open: () => void = () => undefined;
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
    fail: (on: boolean) => (failing = on),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("function cache", () => {
  it("reads the store once while an entry is young", async () => {
    const t = setup();
    expect((await t.cache.get("f"))?.version).to.equal(1);
    t.advance(999);
    await t.cache.get("f");
    expect(t.reads).to.deep.equal(["f"]);
  });

  it("serves an entry past half its life at once and reads it again in the background, once", async () => {
    const t = setup();
    await t.cache.get("f");
    t.records.set("f", { ...RECORD, name: "f", version: 2 });
    t.advance(1500);
    const release = t.hold();
    // The caller does not wait for the held read.
    expect((await t.cache.get("f"))?.version).to.equal(1);
    expect((await t.cache.get("f"))?.version).to.equal(1);
    expect(t.reads).to.deep.equal(["f", "f"]);
    release();
    await settle();
    expect((await t.cache.get("f"))?.version).to.equal(2);
    expect(t.reads).to.have.length(2);
  });

  it("reads an expired entry before serving it, so a change elsewhere is seen within the TTL", async () => {
    const t = setup();
    await t.cache.get("f");
    t.records.set("f", { ...RECORD, name: "f", version: 2 });
    t.advance(2000);
    expect((await t.cache.get("f"))?.version).to.equal(2);
  });

  it("lets an entry whose background read failed expire, and then fails the call itself", async () => {
    const t = setup();
    await t.cache.get("f");
    t.advance(1500);
    t.fail(true);
    expect((await t.cache.get("f"))?.version).to.equal(1);
    await settle();
    t.advance(600);
    const err = await t.cache.get("f").catch((e: unknown) => e);
    expect(String(err)).to.contain("DynamoDB is down");
  });

  it("does not let a background read that began before an invalidation store its answer", async () => {
    const t = setup();
    await t.cache.get("f");
    t.advance(1500);
    const release = t.hold();
    await t.cache.get("f");
    t.records.delete("f");
    t.cache.invalidate("f");
    release();
    await settle();
    expect(await t.cache.get("f")).to.equal(undefined);
  });

  it("keeps at most maxEntries names, however many unknown functions a caller invokes", async () => {
    const t = setup(3);
    for (const name of ["a", "b", "c", "d", "e"]) await t.cache.get(name);
    t.reads.length = 0;
    await t.cache.get("e");
    await t.cache.get("c");
    expect(t.reads).to.deep.equal([]);
    await t.cache.get("a");
    expect(t.reads).to.deep.equal(["a"]);
  });
});
