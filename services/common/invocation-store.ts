/**
 * Invocation state in Redis, shared by controller and worker.
 *
 *   faas:inv:{id}     hash: function, status, attempts, workerId, enqueuedAt, startedAt (TTL)
 *   faas:result:{id}  the terminal InvocationResult as JSON, written once with SET NX (TTL)
 *   faas:lock:{id}    the execution lease: the worker that may run this invocation now (PX)
 *   faas:results      pub/sub channel carrying each stored result (a notice for large ones)
 *
 * Results are exactly-once because `storeResult` is a single SET NX; executions never overlap
 * because a worker runs a task only while it holds the lease and the result does not exist yet.
 */
import { Redis } from "ioredis";
import { InvocationResult, InvocationView, RESULT_INLINE_BYTES, ResultNotice } from "../../contracts";

export const RESULTS_CHANNEL = "faas:results";
const invKey = (id: string) => `faas:inv:${id}`;
const resultKey = (id: string) => `faas:result:${id}`;
const lockKey = (id: string) => `faas:lock:${id}`;

/** Compare-and-delete / compare-and-extend, so a worker only touches a lease it still holds. */
const RELEASE_LEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const EXTEND_LEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Take the lease only if no result is stored and nobody else holds it; on success count the attempt
 * and mark the invocation running. Returns 1 taken, 0 held by another, -1 already finished.
 */
const ACQUIRE_LEASE = `
if redis.call("exists", KEYS[2]) == 1 then return -1 end
if redis.call("set", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  redis.call("hincrby", KEYS[3], "attempts", 1)
  redis.call("hset", KEYS[3], "status", "running", "workerId", ARGV[3], "startedAt", ARGV[4])
  redis.call("expire", KEYS[3], ARGV[5])
  return 1
end
return 0`;

/**
 * Store the result once, publish it, release the lease: all or nothing. 1 stored, 0 a result is already
 * there, -1 another worker holds the lease (this execution lost it, e.g. while paused, and is dropped).
 */
const STORE_RESULT = `
local owner = redis.call("get", KEYS[3])
if owner and owner ~= ARGV[5] then return -1 end
if redis.call("set", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then
  redis.call("hset", KEYS[2], "status", ARGV[4], "workerId", ARGV[5])
  redis.call("expire", KEYS[2], ARGV[2])
  redis.call("publish", ARGV[3], ARGV[6])
  if redis.call("get", KEYS[3]) == ARGV[5] then redis.call("del", KEYS[3]) end
  return 1
end
return 0`;

export type LeaseOutcome = "acquired" | "held" | "finished";

export class InvocationStore {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {}

  async recordQueued(id: string, fn: string, enqueuedAt: number): Promise<void> {
    await this.redis
      .multi()
      .hset(invKey(id), { function: fn, status: "queued", attempts: 0, enqueuedAt })
      .expire(invKey(id), this.ttlSeconds)
      .exec()
      .then(throwOnMultiError);
  }

  /** Undo `recordQueued` when the queue refused the task, so no record claims it was accepted. */
  async forget(id: string): Promise<void> {
    await this.redis.del(invKey(id));
  }

  async acquireLease(id: string, owner: string, leaseMs: number): Promise<LeaseOutcome> {
    const outcome = (await this.redis.eval(
      ACQUIRE_LEASE,
      3,
      lockKey(id),
      resultKey(id),
      invKey(id),
      owner,
      leaseMs,
      owner,
      Date.now(),
      this.ttlSeconds,
    )) as number;
    return outcome === 1 ? "acquired" : outcome === 0 ? "held" : "finished";
  }

  async extendLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(EXTEND_LEASE, 1, lockKey(id), owner, leaseMs)) === 1;
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.redis.eval(RELEASE_LEASE, 1, lockKey(id), owner);
  }

  async storeResult(result: InvocationResult): Promise<"stored" | "duplicate" | "lease-lost"> {
    const json = JSON.stringify(result);
    const notice: ResultNotice = { invocationId: result.invocationId, notice: "stored" };
    const published = Buffer.byteLength(json) > RESULT_INLINE_BYTES ? JSON.stringify(notice) : json;
    const stored = await this.redis.eval(
      STORE_RESULT,
      3,
      resultKey(result.invocationId),
      invKey(result.invocationId),
      lockKey(result.invocationId),
      json,
      this.ttlSeconds,
      RESULTS_CHANNEL,
      result.status,
      result.workerId,
      published,
    );
    return stored === 1 ? "stored" : stored === 0 ? "duplicate" : "lease-lost";
  }

  async getResult(id: string): Promise<InvocationResult | undefined> {
    const json = await this.redis.get(resultKey(id));
    return json === null ? undefined : InvocationResult.parse(JSON.parse(json));
  }

  async view(id: string): Promise<InvocationView | undefined> {
    const [hash, resultJson] = await Promise.all([
      this.redis.hgetall(invKey(id)),
      this.redis.get(resultKey(id)),
    ]);
    if (Object.keys(hash).length === 0 && resultJson === null) return undefined;
    const result =
      resultJson === null ? undefined : InvocationResult.parse(JSON.parse(resultJson) as unknown);
    const status = result?.status ?? (hash.status as InvocationView["status"] | undefined) ?? "queued";
    return InvocationView.parse({
      id,
      function: hash.function ?? "unknown",
      status,
      result: result?.result,
      error: result?.error ?? null,
      workerId: result?.workerId ?? hash.workerId ?? null,
      attempts: Number(hash.attempts ?? 0),
      durationMs: result?.durationMs ?? null,
      coldStart: result?.coldStart ?? null,
      logs: result?.logs ?? "",
      enqueuedAt: hash.enqueuedAt === undefined ? null : Number(hash.enqueuedAt),
      finishedAt: result?.finishedAt ?? null,
    });
  }
}

function throwOnMultiError(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new Error("redis transaction aborted");
  for (const [err] of replies) if (err) throw err;
}
