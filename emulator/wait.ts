/**
 * One way to wait: check a condition until it holds or a deadline passes, then fail with a message that
 * says what was awaited, for how long, and what was last seen. Ports, HTTP answers, containers, workers
 * registering, a queue draining: each is a `Check`, and `waitFor` is the only loop. (testcontainers'
 * wait strategies have the same shape, but they wait on containers only; the CLI, chaos, the
 * benchmark and the tests wait on processes and answers too.)
 */
import net from "node:net";
import { Backoff, BackoffOptions, sleep } from "../services/common/backoff";

/** What a check answers while the condition does not hold yet: why not, for the timeout message. */
export class NotYet {
  constructor(readonly reason: string) {}
}

export const notYet = (reason: string): NotYet => new NotYet(reason);

/**
 * A condition: resolves with a value when it holds; `undefined`, `false` or a `NotYet` while it does
 * not. A check that throws has not held yet either (its error is kept as the last observation), so a
 * call that fails until a service is up is a check as it is.
 */
export type Check<T> = () => Promise<T | undefined | false | NotYet> | T | undefined | false | NotYet;

export interface WaitOptions {
  timeoutMs: number;
  /** Fixed pause between checks (default 100 ms); ignored when `backoff` is given. */
  intervalMs?: number;
  /** Growing pauses, for checks that cost the other side something (an API call, a container start). */
  backoff?: BackoffOptions;
  /** Stops waiting at once (with a WaitAbortedError) when it answers a reason: a process exited, say. */
  abortIf?: () => string | undefined;
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  constructor(
    readonly what: string,
    readonly waitedMs: number,
    readonly last: string | undefined,
  ) {
    super(
      `timed out after ${waitedMs} ms waiting for ${what}${last === undefined ? "" : ` (last: ${last})`}`,
    );
  }
}

export class WaitAbortedError extends Error {
  override readonly name = "WaitAbortedError";
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`gave up waiting for ${what}: ${reason}`);
  }
}

/** Checks `check` until it holds; resolves with what it answered then. */
export async function waitFor<T>(what: string, check: Check<T>, options: WaitOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const backoff = options.backoff === undefined ? undefined : new Backoff(options.backoff);
  let last: string | undefined;
  for (;;) {
    const aborted = options.abortIf?.() ?? (options.signal?.aborted ? "cancelled" : undefined);
    if (aborted !== undefined) throw new WaitAbortedError(what, aborted);
    try {
      const answer = await check();
      if (answer instanceof NotYet) last = answer.reason;
      else if (answer !== undefined && answer !== false) return answer;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(what, Date.now() - started, last);
    await sleep(Math.min(left, backoff?.next() ?? options.intervalMs ?? 100), options.signal);
  }
}

/** Holds once something accepts TCP connections on host:port. */
export function tcpListening(port: number, host = "127.0.0.1"): Check<true> {
  return () =>
    new Promise((resolve) => {
      const socket = net.connect(port, host);
      const done = (answer: true | NotYet) => {
        socket.destroy();
        resolve(answer);
      };
      socket.setTimeout(1000, () => done(notYet(`no answer from ${host}:${port}`)));
      socket.once("connect", () => done(true));
      socket.once("error", (err) => done(notYet(`${host}:${port}: ${err.message}`)));
    });
}

export interface HttpCheckOptions {
  headers?: Record<string, string>;
  /** Which answers count (default: any 2xx). */
  accept?: (res: Response) => boolean;
  /** Each request's own limit (default 2 s), so one hung request cannot outlast the deadline. */
  requestTimeoutMs?: number;
}

/** Holds once `url` answers as `accept` wants; resolves with that response. */
export function httpAnswers(url: string, options: HttpCheckOptions = {}): Check<Response> {
  const accept = options.accept ?? ((res: Response) => res.ok);
  return async () => {
    const res = await fetch(url, {
      headers: options.headers,
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 2000),
    });
    if (accept(res)) return res;
    await res.body?.cancel();
    return notYet(`${url} answered ${res.status}`);
  };
}

/** For calls against a service that is still starting: quick at first, then once a second. */
export const RETRY_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 1000 };
