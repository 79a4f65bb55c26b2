/**
 * One standard queue, with a cost per operation that does not grow with its backlog:
 *  - visible messages in a linked list (received from the head, appended at the tail, unlinked in
 *    O(1) when a still-valid receipt handle deletes one that became visible again);
 *  - in-flight messages in a min-heap by visibility deadline, and delayed ones in a min-heap by
 *    delivery time; due ones are moved to the visible tail lazily, at the start of each operation
 *    (O(k log n) for k due messages), and by one timer per queue while a long poll waits;
 *  - every message in a min-heap by age, so the retention period is enforced the same way;
 *  - the current receipt handle of each received message in a map;
 *  - long polls in a list, answered in arrival order as soon as a message is visible.
 *
 * Where it differs from SQS (docs/queue.md): ordering is strictly first-in first-out among visible
 * messages, and a message whose visibility timeout ends goes to the back of the queue; only the
 * latest receipt handle of a message deletes it or changes its visibility (an older one is accepted by
 * DeleteMessage and does nothing, as SQS documents); a long poll whose client has gone takes nothing.
 */
import { randomUUID } from "node:crypto";
import { IndexedHeap } from "./indexed-heap";
import { LinkedList, ListNode } from "./linked-list";
import { MessageAttributes, StoredMessage } from "./message";
import { SqsError } from "./errors";
import { QueueSettings } from "./queue-attributes";

/** Time as the queue sees it; tests hand in a clock they move by hand. */
export interface QueueClock {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const SYSTEM_QUEUE_CLOCK: QueueClock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface Received {
  message: StoredMessage;
  receipt: string;
}

export interface ReceiveOptions {
  max: number;
  visibilityTimeoutS: number;
  waitS: number;
  /** Aborted when the client goes away: its long poll then takes nothing. */
  signal?: AbortSignal;
}

interface Waiter {
  max: number;
  visibilityTimeoutS: number;
  finish(received: Received[]): void;
}

/** How the queue finds its dead-letter queue by ARN, at the moment it moves a message there. */
export type DeadLetterLookup = (arn: string) => MessageQueue | undefined;

const HANDLE_PREFIX = "fq1";

export class MessageQueue {
  /** Random per queue: a receipt handle names the queue it came from, and a recreated queue rejects old handles. */
  private readonly token = randomUUID().replaceAll("-", "");
  private readonly visible = new LinkedList<StoredMessage>();
  private readonly byDeadline = (a: StoredMessage, b: StoredMessage) =>
    a.visibleAt - b.visibleAt || a.seq - b.seq;
  private readonly timerSlot = {
    get: (m: StoredMessage) => m.timerSlot,
    set: (m: StoredMessage, i: number) => (m.timerSlot = i),
  };
  private readonly inflight = new IndexedHeap<StoredMessage>(this.byDeadline, this.timerSlot);
  private readonly delayed = new IndexedHeap<StoredMessage>(this.byDeadline, this.timerSlot);
  private readonly byAge = new IndexedHeap<StoredMessage>((a, b) => a.sentAt - b.sentAt || a.seq - b.seq, {
    get: (m) => m.ageSlot,
    set: (m, i) => (m.ageSlot = i),
  });
  private readonly receipts = new Map<string, StoredMessage>();
  private readonly waiters = new LinkedList<Waiter>();
  private cancelDeadlineTimer: (() => void) | undefined;
  private deadlineTimerAt: number | undefined;
  private receiveSeq = 0;
  private sendSeq = 0;
  private lastPurgeAt: number | undefined;
  readonly tags = new Map<string, string>();
  readonly createdAt: number;
  lastModifiedAt: number;

  constructor(
    readonly name: string,
    readonly arn: string,
    public settings: QueueSettings,
    private readonly clock: QueueClock,
    private readonly deadLetters: DeadLetterLookup,
    private readonly senderId: string,
    private readonly purgeCooldownMs: number,
  ) {
    this.createdAt = this.lastModifiedAt = clock.now();
  }

  get counts(): { visible: number; inflight: number; delayed: number } {
    this.settle();
    return { visible: this.visible.size, inflight: this.inflight.size, delayed: this.delayed.size };
  }

  send(body: string, attributes: MessageAttributes, delaySeconds: number | undefined): StoredMessage {
    this.settle();
    const now = this.clock.now();
    const message = new StoredMessage(randomUUID(), this.sendSeq++, body, attributes, now, this.senderId);
    this.byAge.push(message);
    this.enqueue(message, now + (delaySeconds ?? this.settings.delaySeconds) * 1000, now);
    return message;
  }

  /** Answers the waiting long polls once a batch of sends is in: they get up to their maximum each. */
  notify(): void {
    this.settle();
    this.wake();
  }

  /**
   * Up to `max` visible messages, each now in flight with a new receipt handle. With nothing visible
   * and `waitS` > 0, resolves as soon as a message becomes visible, or empty after `waitS`.
   */
  receive(options: ReceiveOptions): Promise<Received[]> {
    this.settle();
    const ready = this.taken(options.max, options.visibilityTimeoutS);
    if (ready.length > 0 || options.waitS <= 0 || options.signal?.aborted === true)
      return Promise.resolve(ready);
    return new Promise((resolve) => {
      let node: ListNode<Waiter> | undefined = undefined;
      let done = false;
      const cancelTimeout = this.clock.setTimer(options.waitS * 1000, () => end([]));
      const onAbort = () => end([]);
      const end = (received: Received[]) => {
        if (done) return;
        done = true;
        if (node !== undefined) this.waiters.unlink(node);
        cancelTimeout();
        options.signal?.removeEventListener("abort", onAbort);
        this.armDeadlineTimer();
        resolve(received);
      };
      node = this.waiters.push({
        max: options.max,
        visibilityTimeoutS: options.visibilityTimeoutS,
        finish: end,
      });
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.armDeadlineTimer();
    });
  }

  /**
   * Deletes the message whose latest receipt handle this is. A well-formed handle that is no longer
   * current (the message was deleted, or received again since) is accepted and does nothing.
   */
  delete(receipt: string): void {
    this.settle();
    this.checkHandle(receipt);
    const message = this.receipts.get(receipt);
    if (message !== undefined) this.remove(message);
  }

  changeVisibility(receipt: string, visibilityTimeoutS: number): void {
    this.settle();
    this.checkHandle(receipt);
    const message = this.receipts.get(receipt);
    if (message === undefined) {
      throw new SqsError(
        "InvalidParameterValue",
        `Value ${receipt} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`,
      );
    }
    if (message.state !== "inflight") {
      throw new SqsError("MessageNotInflight", "The message referred to isn't in flight.");
    }
    const now = this.clock.now();
    message.visibleAt = now + visibilityTimeoutS * 1000;
    if (visibilityTimeoutS === 0) {
      this.inflight.remove(message);
      this.makeVisible(message);
      this.wake();
    } else {
      this.inflight.update(message);
      this.armDeadlineTimer();
    }
  }

  purge(): void {
    const now = this.clock.now();
    if (this.lastPurgeAt !== undefined && now - this.lastPurgeAt < this.purgeCooldownMs) {
      throw new SqsError(
        "PurgeQueueInProgress",
        `Only one PurgeQueue operation on ${this.name} is allowed every ${this.purgeCooldownMs / 1000} seconds.`,
      );
    }
    this.lastPurgeAt = now;
    for (const message of this.byAge.clear()) message.state = "gone";
    this.visible.clear();
    this.inflight.clear();
    this.delayed.clear();
    this.receipts.clear();
    this.armDeadlineTimer();
  }

  /** The queue was deleted: its long polls answer empty, its timer stops. */
  close(): void {
    for (const waiter of this.waiters.clear()) waiter.finish([]);
    this.cancelDeadlineTimer?.();
    this.cancelDeadlineTimer = this.deadlineTimerAt = undefined;
  }

  /** A message redriven from another queue: it keeps its id, body, sent time and receive count, as on SQS. */
  acceptRedriven(message: StoredMessage): void {
    this.settle();
    message.receipt = undefined;
    this.byAge.push(message);
    this.makeVisible(message);
    this.wake();
  }

  /** Throws ReceiptHandleIsInvalid unless this queue issued the handle (current or not). */
  private checkHandle(receipt: string): void {
    const parts = Buffer.from(receipt, "base64url").toString("utf8").split(" ");
    if (parts.length !== 4 || parts[0] !== HANDLE_PREFIX || parts[1] !== this.token) {
      throw new SqsError(
        "ReceiptHandleIsInvalid",
        `The input receipt handle "${receipt}" is not a valid receipt handle.`,
      );
    }
  }

  private newHandle(message: StoredMessage): string {
    const handle = Buffer.from(`${HANDLE_PREFIX} ${this.token} ${message.id} ${this.receiveSeq++}`, "utf8");
    return handle.toString("base64url");
  }

  private enqueue(message: StoredMessage, visibleAt: number, now: number): void {
    if (visibleAt > now) {
      message.state = "delayed";
      message.visibleAt = visibleAt;
      this.delayed.push(message);
      this.armDeadlineTimer();
    } else {
      this.makeVisible(message);
    }
  }

  private makeVisible(message: StoredMessage): void {
    message.state = "visible";
    message.visibleNode = this.visible.push(message);
  }

  private remove(message: StoredMessage): void {
    if (message.visibleNode !== undefined) this.visible.unlink(message.visibleNode);
    message.visibleNode = undefined;
    this.inflight.remove(message);
    this.delayed.remove(message);
    this.byAge.remove(message);
    if (message.receipt !== undefined) this.receipts.delete(message.receipt);
    message.receipt = undefined;
    message.state = "gone";
  }

  /**
   * Takes up to `max` visible messages into flight. A message already received maxReceiveCount times
   * goes to the dead-letter queue instead, on this receive attempt, as SQS moves it.
   */
  private taken(max: number, visibilityTimeoutS: number): Received[] {
    const out: Received[] = [];
    const now = this.clock.now();
    const redrive = this.settings.redrivePolicy;
    while (out.length < max) {
      const message = this.visible.shift();
      if (message === undefined) break;
      message.visibleNode = undefined;
      if (redrive !== undefined && message.receiveCount >= redrive.maxReceiveCount) {
        const target = this.deadLetters(redrive.deadLetterTargetArn);
        if (target !== undefined && target !== this) {
          this.remove(message);
          target.acceptRedriven(message);
          continue;
        }
      }
      if (message.receipt !== undefined) this.receipts.delete(message.receipt);
      const receipt = this.newHandle(message);
      message.receipt = receipt;
      this.receipts.set(receipt, message);
      message.receiveCount++;
      message.firstReceiveAt ??= now;
      message.state = "inflight";
      message.visibleAt = now + visibilityTimeoutS * 1000;
      this.inflight.push(message);
      out.push({ message, receipt });
    }
    if (out.length > 0) this.armDeadlineTimer();
    return out;
  }

  /** Moves what is due: delayed and in-flight messages whose time came, and messages past retention. */
  private settle(): void {
    const now = this.clock.now();
    let madeVisible = false;
    for (const heap of [this.delayed, this.inflight]) {
      for (let top = heap.peek(); top !== undefined && top.visibleAt <= now; top = heap.peek()) {
        heap.pop();
        this.makeVisible(top);
        madeVisible = true;
      }
    }
    const retentionMs = this.settings.messageRetentionPeriod * 1000;
    for (let oldest = this.byAge.peek(); oldest !== undefined && oldest.sentAt + retentionMs <= now;) {
      this.remove(oldest);
      oldest = this.byAge.peek();
    }
    if (madeVisible) this.wake();
  }

  /** Answers waiting long polls, oldest first, while messages are visible. */
  private wake(): void {
    for (let waiter = this.waiters.peek(); waiter !== undefined; waiter = this.waiters.peek()) {
      if (this.visible.size === 0) break;
      const received = this.taken(waiter.max, waiter.visibilityTimeoutS);
      if (received.length === 0) break; // all that was visible went to the dead-letter queue
      waiter.finish(received);
    }
    this.armDeadlineTimer();
  }

  /** While a long poll waits, one timer fires at the earliest moment a message becomes visible. */
  private armDeadlineTimer(): void {
    const next = Math.min(
      this.inflight.peek()?.visibleAt ?? Infinity,
      this.delayed.peek()?.visibleAt ?? Infinity,
    );
    const wanted = this.waiters.size > 0 && next !== Infinity ? next : undefined;
    if (wanted === this.deadlineTimerAt) return;
    this.cancelDeadlineTimer?.();
    this.cancelDeadlineTimer = this.deadlineTimerAt = undefined;
    if (wanted === undefined) return;
    this.deadlineTimerAt = wanted;
    this.cancelDeadlineTimer = this.clock.setTimer(Math.max(0, wanted - this.clock.now()), () => {
      this.cancelDeadlineTimer = this.deadlineTimerAt = undefined;
      this.settle();
      this.armDeadlineTimer();
    });
  }
}
