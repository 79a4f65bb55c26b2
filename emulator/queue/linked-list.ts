/**
 * A doubly linked list that hands back its nodes, so whoever holds a node can unlink it in O(1): the
 * queue's visible messages (taken from the head, appended at the tail, deleted from anywhere by a
 * receipt handle) and its long polls waiting for a message (answered in arrival order, dropped when
 * their client goes away).
 */
export interface ListNode<T> {
  readonly value: T;
  prev: ListNode<T> | undefined;
  next: ListNode<T> | undefined;
  list: LinkedList<T> | undefined;
}

export class LinkedList<T> {
  private head: ListNode<T> | undefined;
  private tail: ListNode<T> | undefined;
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(value: T): ListNode<T> {
    const node: ListNode<T> = { value, prev: this.tail, next: undefined, list: this };
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.length++;
    return node;
  }

  peek(): T | undefined {
    return this.head?.value;
  }

  shift(): T | undefined {
    const node = this.head;
    if (node === undefined) return undefined;
    this.unlink(node);
    return node.value;
  }

  /** Unlinks `node` if it is still in this list; answers whether it was. */
  unlink(node: ListNode<T>): boolean {
    if (node.list !== this) return false;
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = node.list = undefined;
    this.length--;
    return true;
  }

  /** Empties the list and answers what it held, oldest first. */
  clear(): T[] {
    const values: T[] = [];
    for (let node = this.head; node !== undefined;) {
      const next = node.next;
      values.push(node.value);
      node.prev = node.next = node.list = undefined;
      node = next;
    }
    this.head = this.tail = undefined;
    this.length = 0;
    return values;
  }
}
