/**
 * Time as the emulator's control loops see it. Production code uses `SYSTEM_CLOCK`; a test hands in
 * a clock it moves by hand, so a loop's decisions can be checked at exact instants instead of racing
 * real timers (testcontainers' `common/clock.ts` does the same for its wait strategies).
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Resolves once `ms` of this clock's time has passed. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` every `ms` of this clock's time until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
