/**
 * The queue service's data structures against plain models: the indexed heap (push, pop, remove and
 * re-key from anywhere) against a sorted array, and the linked list's O(1) unlink.
 */
import { expect } from "chai";
import { IndexedHeap, NOT_IN_HEAP } from "../../emulator/queue/indexed-heap";
import { LinkedList } from "../../emulator/queue/linked-list";

interface Item {
  key: number;
  id: number;
  slot: number;
}

function heapOf(): IndexedHeap<Item> {
  return new IndexedHeap<Item>((a, b) => a.key - b.key || a.id - b.id, {
    get: (item) => item.slot,
    set: (item, i) => (item.slot = i),
  });
}

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

describe("queue service: IndexedHeap", () => {
  it("pops in key order whatever the order of pushes", () => {
    const heap = heapOf();
    const keys = [5, 3, 9, 1, 1, 7, 0, 8];
    keys.forEach((key, id) => heap.push({ key, id, slot: NOT_IN_HEAP }));
    const out: number[] = [];
    for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item.key);
    expect(out).to.deep.equal([...keys].sort((a, b) => a - b));
  });

  it("agrees with a sorted array through 5 000 random pushes, pops, removals and re-keyings", () => {
    const next = random(42);
    const heap = heapOf();
    let model: Item[] = [];
    const sortModel = () => model.sort((a, b) => a.key - b.key || a.id - b.id);
    for (let step = 0; step < 5000; step++) {
      const r = next();
      if (r < 0.4 || model.length === 0) {
        const item = { key: Math.floor(next() * 1000), id: step, slot: NOT_IN_HEAP };
        heap.push(item);
        model.push(item);
      } else if (r < 0.6) {
        sortModel();
        expect(heap.pop()).to.equal(model.shift());
      } else if (r < 0.8) {
        const victim = model[Math.floor(next() * model.length)]!;
        expect(heap.remove(victim)).to.equal(true);
        expect(victim.slot).to.equal(NOT_IN_HEAP);
        expect(heap.remove(victim)).to.equal(false);
        model = model.filter((m) => m !== victim);
      } else {
        const item = model[Math.floor(next() * model.length)]!;
        item.key = Math.floor(next() * 1000);
        heap.update(item);
      }
      sortModel();
      expect(heap.size).to.equal(model.length);
      expect(heap.peek()).to.equal(model[0]);
    }
  });

  it("clears, leaving every item out of the heap", () => {
    const heap = heapOf();
    const items = [1, 2, 3].map((key) => ({ key, id: key, slot: NOT_IN_HEAP }));
    items.forEach((item) => heap.push(item));
    expect(heap.clear()).to.have.length(3);
    expect(heap.size).to.equal(0);
    expect(items.map((i) => [i.slot, heap.has(i)])).to.deep.equal([
      [NOT_IN_HEAP, false],
      [NOT_IN_HEAP, false],
      [NOT_IN_HEAP, false],
    ]);
  });
});

describe("queue service: LinkedList", () => {
  it("shifts in push order and unlinks any node once", () => {
    const list = new LinkedList<string>();
    const nodes = ["a", "b", "c", "d"].map((v) => list.push(v));
    expect(list.unlink(nodes[2]!)).to.equal(true);
    expect(list.unlink(nodes[2]!)).to.equal(false);
    expect(list.unlink(nodes[0]!)).to.equal(true);
    expect(list.size).to.equal(2);
    expect(list.peek()).to.equal("b");
    expect([list.shift(), list.shift(), list.shift()]).to.deep.equal(["b", "d", undefined]);
    const e = list.push("e");
    expect(list.clear()).to.deep.equal(["e"]);
    expect(list.unlink(e)).to.equal(false);
    expect(list.size).to.equal(0);
  });
});
