/** Exponential backoff with full jitter; time comes from the caller so tests can shrink it. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const { initialMs, maxMs, factor = 2 } = this.options;
    const ceiling = Math.min(maxMs, initialMs * factor ** this.attempt);
    this.attempt += 1;
    return Math.max(initialMs / 2, Math.round(ceiling * (0.5 + Math.random() / 2)));
  }

  reset(): void {
    this.attempt = 0;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Read at call time: TypeScript narrows `signal.aborted` in loops as if it could not change. */
export const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;
