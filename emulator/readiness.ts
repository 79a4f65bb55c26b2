import { WorkerList } from "../contracts";

/**
 * Polls the worker registry through the Elastic IP until at least `count` workers are registered.
 * Answers whether that happened within `timeoutMs`, with the last list seen (none while the
 * controller is still booting or claiming the address).
 */
export async function waitForWorkers(
  endpoint: string,
  apiKey: string,
  count: number,
  timeoutMs: number,
): Promise<{ ready: boolean; last: WorkerList | undefined }> {
  const deadline = Date.now() + timeoutMs;
  let last: WorkerList | undefined;
  while (Date.now() < deadline) {
    const res = await fetch(`${endpoint}/api/workers`, {
      headers: { authorization: `Bearer ${apiKey}` },
    }).catch(() => undefined);
    const parsed = res?.ok ? WorkerList.safeParse(await res.json()) : undefined;
    if (parsed?.success) {
      last = parsed.data;
      if (last.workers.length >= count) return { ready: true, last };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ready: false, last };
}
