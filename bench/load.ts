/**
 * The asynchronous load generator of the benchmark: HTTP clients that invoke a function with
 * `X-Invocation-Type: Event`, and completions counted from the Redis results channel, as the
 * controller sees them (no polling per invocation). Either for a fixed window (sustained throughput)
 * or for a fixed number of invocations (a burst), with a cap on accepted but unfinished invocations.
 */
import { Redis } from "ioredis";
import { InvocationResult } from "../contracts";
import { PlatformClient } from "../client/platform-client";
import { RESULTS_CHANNEL } from "../services/common/invocation-store";
import { notYet, waitFor } from "../emulator/wait";

export interface LoadOptions {
  function: string;
  /** HTTP requests in flight. */
  concurrency: number;
  /** Accepted but unfinished invocations allowed. */
  maxOutstanding: number;
  /** Stop sending after this long... */
  seconds?: number;
  /** ...or after this many invocations were sent (accepted or rejected). */
  count?: number;
  /** How long accepted invocations may take to complete once sending stopped. */
  drainTimeoutMs?: number;
}

export interface LoadResult {
  accepted: number;
  completed: number;
  /** Accepted and never completed. */
  lost: number;
  /** Answered with an error (429 at capacity, 503) or not at all: nothing was enqueued. */
  rejected: number;
  /** Completed per second, from the start to the last completion. */
  rate: number;
  /** Accepted per second, from the start to the last answer. */
  acceptRate: number;
  /** From the start to the last completion. */
  seconds: number;
  /** Each accepted request's time to its 202. */
  acceptMs: number[];
}

/** Counts a resource and lets callers wait for a free unit without polling, until it is opened for good. */
class Gate {
  private waiters: (() => void)[] = [];
  private open = false;
  constructor(private free: number) {}
  async take(): Promise<void> {
    if (this.open) return;
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  give(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.free++;
  }
  /** Lets every waiter, and every later taker, through: sending is over. */
  release(): void {
    this.open = true;
    for (const w of this.waiters.splice(0)) w();
  }
}

export async function asyncLoad(
  redisUrl: string,
  platform: PlatformClient,
  o: LoadOptions,
): Promise<LoadResult> {
  const subscriber = new Redis(redisUrl);
  const pending = new Set<string>();
  const early = new Set<string>();
  const outstanding = new Gate(o.maxOutstanding);
  let completed = 0;
  let lastCompletion = 0;
  const complete = () => {
    completed++;
    lastCompletion = Date.now();
    outstanding.give();
  };
  subscriber.on("message", (_channel: string, message: string) => {
    const { invocationId } = InvocationResult.pick({ invocationId: true }).parse(JSON.parse(message));
    if (pending.delete(invocationId)) complete();
    else early.add(invocationId);
  });
  await subscriber.subscribe(RESULTS_CHANNEL);

  let sent = 0;
  let accepted = 0;
  let rejected = 0;
  let lastAnswer = 0;
  const acceptMs: number[] = [];
  const started = Date.now();
  const deadline = o.seconds === undefined ? Infinity : started + o.seconds * 1000;
  const stopTimer =
    o.seconds === undefined ? undefined : setTimeout(() => outstanding.release(), o.seconds * 1000);
  const more = () => Date.now() < deadline && (o.count === undefined || sent < o.count);
  const client = async () => {
    for (;;) {
      await outstanding.take();
      if (!more()) {
        // Whoever still waits for a unit would wait for completions that may never come.
        outstanding.release();
        return;
      }
      sent++;
      if (!more()) outstanding.release();
      const t0 = performance.now();
      const answer = await platform.invokeAsync(o.function, { n: sent }).catch(() => undefined);
      lastAnswer = Date.now();
      if (answer !== undefined) {
        accepted++;
        acceptMs.push(performance.now() - t0);
        if (early.delete(answer.invocationId)) complete();
        else pending.add(answer.invocationId);
      } else {
        rejected++;
        outstanding.give();
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, client));
  clearTimeout(stopTimer);
  await waitFor(
    "the accepted invocations to complete",
    () => pending.size === 0 || notYet(`${pending.size} pending`),
    { timeoutMs: o.drainTimeoutMs ?? 60_000, intervalMs: 50 },
  ).catch(() => undefined);
  subscriber.disconnect();
  // What became of an invocation that never reported: its record says where it stopped.
  for (const id of [...pending].slice(0, 5)) {
    const record = await platform.getInvocation(id).catch((err: unknown) => String(err));
    process.stdout.write(`  not completed: ${id} ${JSON.stringify(record).slice(0, 300)}\n`);
  }
  const seconds = (lastCompletion - started) / 1000;
  return {
    accepted,
    completed,
    lost: pending.size,
    rejected,
    rate: completed / seconds,
    acceptRate: accepted / ((lastAnswer - started) / 1000),
    seconds,
    acceptMs,
  };
}
