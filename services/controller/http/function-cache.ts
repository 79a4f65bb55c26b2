import { FunctionRecord } from "../../../contracts";
import { FunctionStore } from "../function-store";

interface Entry {
  record: FunctionRecord | undefined;
  at: number;
  refreshing: boolean;
}

/**
 * A short-lived cache of function metadata for the invoke path, so a busy function does not cost a
 * DynamoDB read per call. Deploys and deletes through this controller invalidate it at once; a change
 * made elsewhere is seen within `ttlMs`.
 *
 * An entry past half its life is still served, and read again in the background: a function invoked
 * at least every `ttlMs / 2` never waits for DynamoDB (one read on its path every `ttlMs` showed in the
 * synchronous tail). An entry past `ttlMs` is read again before it is served, as on a miss.
 *
 * At most `maxEntries` names are kept (the oldest read goes first): every name a caller invokes is
 * cached, those of functions that do not exist too, and callers choose the names.
 */
export class FunctionCache {
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation: a background read that started before one must not store its answer. */
  private generation = 0;

  constructor(
    private readonly store: FunctionStore,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(name: string): Promise<FunctionRecord | undefined> {
    const hit = this.entries.get(name);
    const age = hit === undefined ? Infinity : this.now() - hit.at;
    if (hit === undefined || age >= this.ttlMs) return this.load(name);
    if (age >= this.ttlMs / 2 && !hit.refreshing) {
      hit.refreshing = true;
      // A failed read leaves the entry to expire: the next call past ttlMs reads (and fails) itself.
      this.load(name).catch(() => {
        hit.refreshing = false;
      });
    }
    return hit.record;
  }

  invalidate(name: string): void {
    this.generation++;
    this.entries.delete(name);
  }

  private async load(name: string): Promise<FunctionRecord | undefined> {
    const generation = this.generation;
    const record = await this.store.get(name);
    if (generation === this.generation) {
      this.entries.delete(name);
      this.entries.set(name, { record, at: this.now(), refreshing: false });
      const oldest = this.entries.keys().next();
      if (this.entries.size > this.maxEntries && oldest.done !== true) this.entries.delete(oldest.value);
    }
    return record;
  }
}
