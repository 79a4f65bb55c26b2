import { PlatformClient } from "../client/platform-client";
import { WorkerList } from "../contracts";
import { notYet, waitFor, WaitTimeoutError } from "./wait";

/**
 * Waits, through the Elastic IP, until at least `count` workers are registered. Answers whether that
 * happened within `timeoutMs`, with the last list seen (none while the controller is still booting or
 * claiming the address).
 */
export async function waitForWorkers(
  endpoint: string,
  apiKey: string,
  count: number,
  timeoutMs: number,
  tlsFingerprint?: string,
): Promise<{ ready: boolean; last: WorkerList | undefined }> {
  // A poll: each look is one attempt, the loop is the retry.
  const client = new PlatformClient(endpoint, apiKey, {
    requestTimeoutMs: 2000,
    retry: false,
    ...(tlsFingerprint === undefined ? {} : { tlsFingerprint }),
  });
  let last: WorkerList | undefined;
  try {
    await waitFor(
      `${count} registered worker${count === 1 ? "" : "s"}`,
      async () => {
        last = await client.workers();
        return last.workers.length >= count || notYet(`${last.workers.length} registered`);
      },
      { timeoutMs },
    );
    return { ready: true, last };
  } catch (err) {
    if (err instanceof WaitTimeoutError) return { ready: false, last };
    throw err;
  }
}
