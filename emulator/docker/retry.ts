import { Backoff, sleep } from "../../services/common/backoff";

/**
 * Retries `attempt` until it resolves or `waitMs` passes: the emulator's containers start in any order,
 * and each waits for the AWS emulator and the bootstrap's resources instead of relying on start order.
 */
export async function retryUntil<T>(what: string, waitMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() >= deadline)
        throw new Error(`${what}: gave up after ${waitMs} ms: ${String(err)}`, { cause: err });
      await sleep(backoff.next());
    }
  }
}
