import { FunctionRecord } from "../../../contracts";
import { FunctionStore } from "../function-store";

/**
 * A short-lived cache of function metadata for the invoke path, so a busy function does not cost a
 * DynamoDB read per call. Deploys and deletes through this controller invalidate it at once; a change
 * made elsewhere is seen within `ttlMs`.
 */
export class FunctionCache {
  private readonly entries = new Map<string, { record: FunctionRecord | undefined; at: number }>();

  constructor(
    private readonly store: FunctionStore,
    private readonly ttlMs: number,
  ) {}

  async get(name: string): Promise<FunctionRecord | undefined> {
    const hit = this.entries.get(name);
    if (hit !== undefined && Date.now() - hit.at < this.ttlMs) return hit.record;
    const record = await this.store.get(name);
    this.entries.set(name, { record, at: Date.now() });
    return record;
  }

  invalidate(name: string): void {
    this.entries.delete(name);
  }
}
