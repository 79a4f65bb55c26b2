/**
 * Sandbox uid ranges, shared by every local cloud on this host. A worker gives each live function
 * process a host uid of its own from its range (services/worker/sandbox/uid-pool.ts), so that no two
 * sandboxes can signal, trace or read each other, and the per-uid process limit counts one sandbox
 * only. That holds across workers only if their ranges never overlap, and the workers of two local
 * clouds (two `make dev`, a test run beside one, `make deploy TARGET=local`) are started by different
 * processes that know nothing of each other.
 *
 * So a range is held machine-wide while a worker uses it, by a host claim named after the range
 * (host-claims.ts: an abstract Unix socket, dropped by the kernel with its process): a local cloud
 * killed with SIGKILL leaves no hold behind and nothing to clean up.
 */
import { claim, HostClaim } from "./host-claims";

export interface UidRangesOptions {
  /** The first uid of the first range. */
  base: number;
  /** Uids per range: one worker's FAAS_SANDBOX_UID_COUNT. */
  size: number;
  /** How many ranges there are from `base`. */
  ranges: number;
}

export const DEFAULT_UID_RANGES: UidRangesOptions = { base: 100_000, size: 1000, ranges: 100 };

export class UidRangeExhaustedError extends Error {}

export class SandboxUidRanges {
  private readonly held = new Map<number, HostClaim>();
  /** Where the next search starts: a range given back is taken again last, not first. */
  private cursor = 0;

  constructor(readonly options: UidRangesOptions = DEFAULT_UID_RANGES) {}

  /** Holds a range no other worker on this host holds, and returns its first uid. */
  async take(): Promise<number> {
    const { base, size, ranges } = this.options;
    // Read once: a take that finishes meanwhile moves the cursor, and this search must still see
    // every range once.
    const start = this.cursor;
    for (let i = 0; i < ranges; i++) {
      const index = (start + i) % ranges;
      const first = base + index * size;
      if (this.held.has(first)) continue;
      // The claim decides between takers in this process too: two at once ask the kernel for one name.
      const held = await claim(claimName(first));
      if (held === undefined) continue;
      this.held.set(first, held);
      this.cursor = (index + 1) % ranges;
      return first;
    }
    throw new UidRangeExhaustedError(
      `all ${ranges} sandbox uid ranges of ${size} from ${base} are held by workers on this host`,
    );
  }

  /** Gives a range back once its worker and its sandboxes are gone. */
  async release(first: number): Promise<void> {
    const held = this.held.get(first);
    if (held === undefined) return;
    this.held.delete(first);
    await held.release();
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.held.keys()].map((first) => this.release(first)));
  }

  /** The first uid of every range this process holds. */
  get holding(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }
}

/**
 * The claim's name: the range's first uid, so that any two processes asking for it meet on one name.
 * Every local cloud cuts its ranges the same way (DEFAULT_UID_RANGES' size from its base).
 */
export const claimName = (first: number) => `sandbox-uids-${first}`;
