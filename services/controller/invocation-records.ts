/**
 * The invocation store as the HTTP API uses it, with a Redis outage as a StoreUnavailableError. The
 * store itself (services/common/invocation-store.ts) is shared with the worker, which retries whatever
 * fails; the API answers at once, so it has to tell an outage (503) from a fault (500).
 *
 * ioredis refuses a command it has no connection for with a bare Error, without a class or a code of
 * its own ("Stream isn't writeable…" on this fail-fast connection, "Connection is closed."), so the
 * client's state is what tells: a command that failed while the connection was not `ready` failed for
 * want of Redis. Socket errors say so by their code, spent retries by their class. A reply error from
 * a connected Redis, or a record that does not parse, is a fault and passes through as it is.
 */
import { Redis } from "ioredis";
import { InvocationView } from "../../contracts";
import { InvocationStore } from "../common/invocation-store";
import { isNetworkError, StoreUnavailableError } from "./errors";

export class InvocationRecords implements Pick<InvocationStore, "recordQueued" | "forget" | "view"> {
  constructor(
    private readonly store: Pick<InvocationStore, "recordQueued" | "forget" | "view">,
    private readonly redis: Pick<Redis, "status">,
  ) {}

  recordQueued(id: string, fn: string, enqueuedAt: number): Promise<void> {
    return this.store
      .recordQueued(id, fn, enqueuedAt)
      .catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  forget(id: string): Promise<void> {
    return this.store.forget(id).catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  view(id: string): Promise<InvocationView | undefined> {
    return this.store.view(id).catch((err: unknown) => this.rethrow(err, "a backing service is unreachable"));
  }

  private rethrow(err: unknown, what: string): never {
    if (!isRedisOutage(err, this.redis.status)) throw err;
    throw new StoreUnavailableError(`${what}: ${String(err)}`, { cause: err });
  }
}

function isRedisOutage(err: unknown, status: Redis["status"]): boolean {
  if (isNetworkError(err)) return true;
  if ((err as { name?: unknown } | undefined)?.name === "MaxRetriesPerRequestError") return true;
  return err instanceof Error && err.name !== "ReplyError" && status !== "ready";
}
