/**
 * Which function names exist, for deciding whether a result from the results channel may become a
 * metric label. The channel is not trusted with names: whatever can publish to Redis could otherwise
 * grow /metrics (and this controller's memory) without bound, and a lookup per unknown name would let
 * it drive DynamoDB reads at its own rate. So names come from the store's list, refreshed at most once
 * per `refreshMs` (one Scan, whatever arrives), plus the deploys and removals made through this
 * controller as they happen.
 */
import { FUNCTION_NAME_PATTERN } from "../../contracts";
import { Logger } from "../common/logger";
import { FunctionStore } from "./function-store";

export class KnownFunctions {
  private names = new Set<string>();
  private refreshedAt = -Infinity;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<FunctionStore, "list">,
    private readonly log: Logger,
    private readonly refreshMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async has(name: string): Promise<boolean> {
    if (!FUNCTION_NAME_PATTERN.test(name)) return false;
    if (this.names.has(name)) return true;
    if (this.refreshing === undefined && this.now() - this.refreshedAt >= this.refreshMs) {
      this.refreshedAt = this.now();
      this.refreshing = this.refresh().finally(() => (this.refreshing = undefined));
    }
    await this.refreshing;
    return this.names.has(name);
  }

  added(name: string): void {
    this.names.add(name);
  }

  removed(name: string): void {
    this.names.delete(name);
  }

  private async refresh(): Promise<void> {
    try {
      this.names = new Set((await this.store.list()).map((f) => f.name));
    } catch (err) {
      this.log.warn({ err: String(err) }, "could not list functions to attribute results");
    }
  }
}
