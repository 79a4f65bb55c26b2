/**
 * Heartbeats to the controller through its Elastic IP address, every interval. While the controller
 * is unreachable (replaced, booting) it retries with backoff capped below the interval, so the first
 * heartbeat after a new controller appears arrives quickly and registers this worker again.
 */
import { Heartbeat, HEADER, HeartbeatAck } from "../../contracts";
import { Backoff, isAborted, sleep } from "../common/backoff";
import { Logger } from "../common/logger";

export interface HeartbeatOptions {
  controllerUrl: string;
  workerSecret: string;
  intervalMs: number;
  snapshot: () => Heartbeat;
}

export async function runHeartbeats(
  options: HeartbeatOptions,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const backoff = new Backoff({
    initialMs: Math.min(250, options.intervalMs / 4),
    maxMs: Math.max(50, options.intervalMs / 2),
  });
  let controller: string | undefined;
  let failing = false;
  while (!signal.aborted) {
    try {
      const res = await fetch(`${options.controllerUrl}/api/worker/heartbeat`, {
        method: "POST",
        headers: { "content-type": "application/json", [HEADER.workerSecret]: options.workerSecret },
        body: JSON.stringify(options.snapshot()),
        signal: AbortSignal.any([signal, AbortSignal.timeout(Math.max(1000, options.intervalMs))]),
      });
      if (!res.ok) throw new Error(`controller answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const ack = HeartbeatAck.parse(await res.json());
      if (ack.controllerInstanceId !== controller || failing) {
        log.info({ controller: ack.controllerInstanceId, registered: ack.registered }, "heartbeat accepted");
      }
      controller = ack.controllerInstanceId;
      failing = false;
      backoff.reset();
      await sleep(options.intervalMs, signal);
    } catch (err) {
      if (isAborted(signal)) return;
      const delay = backoff.next();
      if (!failing)
        log.warn({ err: String(err), retryInMs: delay }, "controller unreachable; retrying heartbeat");
      failing = true;
      await sleep(delay, signal);
    }
  }
}
