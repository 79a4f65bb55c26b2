/**
 * Where a worker's tasks come from: the consumer side of the controller's TaskQueue. The worker sees
 * a message only as its body, its receipt and how often it was delivered, so the order that makes
 * results exactly-once (task-processor.ts) is written, and tested, against this interface alone.
 */

/** One delivery of a task. The same task may be delivered again (at-least-once). */
export interface TaskMessage {
  /** Untrusted until parsed: anything may sit in the queue. */
  body: string | undefined;
  /** Names this delivery: visibility changes and deletion go through it. */
  receipt: string;
  /** How many times the queue has handed this message out, this delivery included. */
  receiveCount: number;
  /** The queue's id of the message, for logs. */
  messageId?: string;
}

export interface TaskSource {
  /**
   * Up to `max` messages, waiting at most `waitSeconds` for the first one; each stays hidden from other
   * receivers for the source's visibility timeout. Rejects when the queue is unreachable or `signal` aborts.
   */
  receive(max: number, waitSeconds: number, signal: AbortSignal): Promise<TaskMessage[]>;
  /** Hides the message for `seconds` from now on, while it is being worked on. */
  extendVisibility(receipt: string, seconds: number): Promise<void>;
  /** Removes the message for good; only once its result is stored. */
  delete(receipt: string): Promise<void>;
  /** Resolves once every deletion asked for so far has been sent. */
  drain(): Promise<void>;
}
