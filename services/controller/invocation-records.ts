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
import { InvocationResult, InvocationView } from "../../contracts";
import {
  ExistingClaim,
  FollowOutcome,
  IdempotencyClaim,
  InvocationStore,
  RecordOutcome,
} from "../common/invocation-store";
import { isNetworkError, StoreUnavailableError } from "./errors";

/** What the HTTP API calls on the invocation store. */
export type InvocationRecordsApi = Pick<
  InvocationStore,
  "recordQueued" | "forget" | "view" | "markAccepted" | "findClaim" | "followClaim" | "getResult"
>;

export class InvocationRecords implements InvocationRecordsApi {
  constructor(
    private readonly store: InvocationRecordsApi,
    private readonly redis: Pick<Redis, "status">,
  ) {}

  recordQueued(id: string, fn: string, enqueuedAt: number, claim?: IdempotencyClaim): Promise<RecordOutcome> {
    return this.store
      .recordQueued(id, fn, enqueuedAt, claim)
      .catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  forget(id: string, claim?: IdempotencyClaim): Promise<void> {
    return this.store
      .forget(id, claim)
      .catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  markAccepted(id: string, claim: IdempotencyClaim): void {
    this.store.markAccepted(id, claim);
  }

  findClaim(claim: IdempotencyClaim): Promise<ExistingClaim | undefined> {
    return this.store.findClaim(claim).catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  followClaim(
    id: string,
    fn: string,
    claim: IdempotencyClaim,
    staleMs: number,
    owner: string,
  ): Promise<FollowOutcome> {
    return this.store
      .followClaim(id, fn, claim, staleMs, owner)
      .catch((err: unknown) => this.rethrow(err, "result store unreachable"));
  }

  getResult(id: string): Promise<InvocationResult | undefined> {
    return this.store.getResult(id).catch((err: unknown) => this.rethrow(err, "result store unreachable"));
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
