/**
 * The worker's receive loop: several pollers long-poll the task source, each with its share of the
 * slots, and hand every message received to `handle`. A poller reserves slots before it asks, so the
 * messages received never outnumber the slots free to run them (a received message's visibility
 * timeout is already ticking). A slow queue answers each receive in tens of milliseconds, so one
 * receive at a time would cap a worker far below what its slots can run.
 *
 * After handing out messages, a poller asks again only once they are handled, or `handOffMs` later,
 * whichever comes first: building a receive costs the SDK a few hundred microseconds of this thread,
 * and spent at once it would sit between each message's lease request and its reply (the other
 * pollers' receives are already waiting on the queue meanwhile).
 */
import { Backoff, BackoffOptions, isAborted, sleep } from "../common/backoff";
import { Logger } from "../common/logger";
import { Slots } from "./slots";
import { TaskMessage, TaskSource } from "./task-source";

export interface PollerOptions {
  source: TaskSource;
  slots: number;
  pollers: number;
  waitSeconds: number;
  /** Runs one message to its end; a rejection is logged, the slot is freed either way. */
  handle: (message: TaskMessage) => Promise<void>;
  log: Logger;
  signal: AbortSignal;
  /** Between failed receives. Capped low: after an endpoint outage the workers should be back within a second. */
  receiveBackoff?: BackoffOptions;
  /** How long a poller lets the messages it received run before it asks for more (default 2 ms). */
  handOffMs?: number;
}

export class Poller {
  private readonly slots: Slots;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: PollerOptions) {
    this.slots = new Slots(options.slots);
  }

  get slotsInUse(): number {
    return this.slots.inUse;
  }

  /** Messages being handled now. */
  get inFlight(): number {
    return this.running.size;
  }

  /** Polls until the signal aborts; resolves once every poller has stopped asking. */
  async run(): Promise<void> {
    const perPoller = Math.max(1, Math.ceil(this.options.slots / this.options.pollers));
    await Promise.all(Array.from({ length: this.options.pollers }, () => this.poll(perPoller)));
  }

  /** Resolves once every message handed out so far has been handled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.running);
  }

  private async poll(perPoller: number): Promise<void> {
    const { source, waitSeconds, log, signal } = this.options;
    const backoff = new Backoff(this.options.receiveBackoff ?? { initialMs: 100, maxMs: 1000 });
    while (!isAborted(signal)) {
      const want = await this.slots.reserve(Math.min(10, perPoller), signal);
      if (want === 0) break;
      let messages: TaskMessage[] = [];
      const asked = performance.now();
      try {
        messages = await source.receive(want, waitSeconds, signal);
        log.debug({ want, got: messages.length, ms: Math.round(performance.now() - asked) }, "received");
        backoff.reset();
      } catch (err) {
        if (!isAborted(signal)) {
          const delay = backoff.next();
          log.warn({ err: String(err), retryInMs: delay }, "could not receive from the queue");
          await sleep(delay, signal);
        }
      } finally {
        this.slots.settle(want, messages.length);
      }
      if (messages.length === 0) continue;
      const handled = Promise.allSettled(messages.map((message) => this.start(message)));
      await Promise.race([handled, sleep(this.options.handOffMs ?? 2, signal)]);
    }
  }

  private start(message: TaskMessage): Promise<void> {
    const job = this.options
      .handle(message)
      .catch((err: unknown) => this.options.log.error({ err: String(err) }, "task processing failed"))
      .finally(() => {
        this.slots.release();
        this.running.delete(job);
      });
    this.running.add(job);
    return job;
  }
}
