/**
 * A binary min-heap whose items know their own position, so an item can be removed or re-keyed in
 * O(log n) without a search: the queue keeps in-flight messages by visibility deadline, delayed
 * messages by delivery time and every message by age here, and a delete or a visibility change must
 * not cost a scan of the backlog. The position lives on the item (one slot per heap it can be in),
 * read and written through the accessor given at construction.
 */
export interface HeapSlot<T> {
  get(item: T): number;
  set(item: T, index: number): void;
}

/** Position of an item that is in no heap. */
export const NOT_IN_HEAP = -1;

export class IndexedHeap<T> {
  private readonly items: T[] = [];

  constructor(
    /** Negative when `a` must come out first. */
    private readonly compare: (a: T, b: T) => number,
    private readonly slot: HeapSlot<T>,
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    const i = this.slot.get(item);
    return i !== NOT_IN_HEAP && this.items[i] === item;
  }

  push(item: T): void {
    this.items.push(item);
    this.slot.set(item, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes `item` if it is in this heap; answers whether it was. */
  remove(item: T): boolean {
    if (!this.has(item)) return false;
    this.removeAt(this.slot.get(item));
    return true;
  }

  /** Restores the order after `item`'s key changed. */
  update(item: T): void {
    if (!this.has(item)) return;
    const i = this.slot.get(item);
    this.up(i);
    this.down(this.slot.get(item));
  }

  /** Empties the heap, marking every item as out of it. */
  clear(): T[] {
    const all = this.items.splice(0);
    for (const item of all) this.slot.set(item, NOT_IN_HEAP);
    return all;
  }

  private removeAt(i: number): void {
    const removed = this.items[i] as T;
    const last = this.items.pop() as T;
    this.slot.set(removed, NOT_IN_HEAP);
    if (i === this.items.length) return;
    this.items[i] = last;
    this.slot.set(last, i);
    this.up(i);
    this.down(this.slot.get(last));
  }

  private up(i: number): void {
    const item = this.items[i] as T;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.items[parentIndex] as T;
      if (this.compare(item, parent) >= 0) break;
      this.items[i] = parent;
      this.slot.set(parent, i);
      i = parentIndex;
    }
    this.items[i] = item;
    this.slot.set(item, i);
  }

  private down(i: number): void {
    const n = this.items.length;
    const item = this.items[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.compare(this.items[right] as T, this.items[left] as T) < 0) child = right;
      const childItem = this.items[child] as T;
      if (this.compare(childItem, item) >= 0) break;
      this.items[i] = childItem;
      this.slot.set(childItem, i);
      i = child;
    }
    this.items[i] = item;
    this.slot.set(item, i);
  }
}
