/**
 * The queues of one account and region, by name, and how a request's QueueUrl names one. A queue's
 * URL is `<origin>/<account>/<name>`, where the origin is the host the client reached the service by
 * (the Host header), so a client behind a proxy or a container alias gets URLs it can reach again.
 */
import {
  applyAttributes,
  DEFAULT_SETTINGS,
  FIFO_UNSUPPORTED,
  renderAttributes,
  sameAttributes,
} from "./queue-attributes";
import { queueDoesNotExist, SqsError } from "./errors";
import { MessageQueue, QueueClock } from "./message-queue";

export interface RegistryOptions {
  accountId: string;
  region: string;
  clock: QueueClock;
  /** SQS allows one PurgeQueue per queue every 60 s. */
  purgeCooldownMs: number;
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export class QueueRegistry {
  private readonly queues = new Map<string, MessageQueue>();

  constructor(readonly options: RegistryOptions) {}

  create(name: string, attributes: Record<string, string>, tags: Record<string, string>): MessageQueue {
    if (name.endsWith(".fifo")) throw new SqsError("UnsupportedOperation", FIFO_UNSUPPORTED);
    if (!QUEUE_NAME.test(name)) {
      throw new SqsError(
        "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    }
    const existing = this.queues.get(name);
    const settings = applyAttributes(
      existing?.settings ?? DEFAULT_SETTINGS,
      attributes,
      (arn) => this.byArn(arn) !== undefined,
    );
    if (existing !== undefined) {
      if (!sameAttributes(existing.settings, attributes)) {
        throw new SqsError(
          "QueueNameExists",
          "A queue already exists with the same name and a different value for attribute(s)",
        );
      }
      return existing;
    }
    const { accountId, region, clock, purgeCooldownMs } = this.options;
    const queue = new MessageQueue(
      name,
      `arn:aws:sqs:${region}:${accountId}:${name}`,
      settings,
      clock,
      (arn) => this.byArn(arn),
      accountId,
      purgeCooldownMs,
    );
    for (const [key, value] of Object.entries(tags)) queue.tags.set(key, value);
    this.queues.set(name, queue);
    return queue;
  }

  setAttributes(queue: MessageQueue, attributes: Record<string, string>): void {
    queue.settings = applyAttributes(queue.settings, attributes, (arn) => this.byArn(arn) !== undefined);
    queue.lastModifiedAt = this.options.clock.now();
  }

  getAttributes(queue: MessageQueue, names: string[]): Record<string, string> {
    return renderAttributes(
      queue.settings,
      {
        arn: queue.arn,
        createdAt: queue.createdAt,
        lastModifiedAt: queue.lastModifiedAt,
        counts: queue.counts,
      },
      names,
    );
  }

  byName(name: string): MessageQueue {
    const queue = this.queues.get(name);
    if (queue === undefined) throw queueDoesNotExist();
    return queue;
  }

  /** The queue a QueueUrl names: its path is /<account>/<name>; its host does not matter. */
  byUrl(url: string): MessageQueue {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      path = url;
    }
    const parts = path.split("/").filter((p) => p !== "");
    const [account, name] = parts.length === 2 ? parts : [undefined, undefined];
    if (account !== this.options.accountId || name === undefined) throw queueDoesNotExist();
    return this.byName(name);
  }

  url(origin: string, queue: MessageQueue): string {
    return `${origin}/${this.options.accountId}/${queue.name}`;
  }

  delete(queue: MessageQueue): void {
    if (this.queues.get(queue.name) !== queue) return;
    this.queues.delete(queue.name);
    queue.close();
  }

  /** Names with `prefix`, sorted, so NextToken (the last name answered) pages through them. */
  list(prefix: string, after: string | undefined): MessageQueue[] {
    return [...this.queues.values()]
      .filter((q) => q.name.startsWith(prefix) && (after === undefined || q.name > after))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  closeAll(): void {
    for (const queue of this.queues.values()) queue.close();
  }

  private byArn(arn: string): MessageQueue | undefined {
    const name = arn.split(":")[5];
    const queue = name === undefined ? undefined : this.queues.get(name);
    return queue?.arn === arn ? queue : undefined;
  }
}
