/**
 * Invocation state in Redis, shared by controller and worker.
 *
 *   faas:inv:{id}     hash: function, status, attempts, workerId, enqueuedAt, startedAt (TTL)
 *   faas:result:{id}  the terminal InvocationResult as JSON, written once with SET NX (TTL)
 *   faas:lock:{id}    the execution lease: the worker that may run this invocation now (PX)
 *   faas:idem:{scope} an Idempotency-Key's claim: hash id, fp (request fingerprint), state
 *                     (pending | accepted), at (Redis time of the claim, ms), owner (TTL)
 *   faas:results      pub/sub channel carrying each stored result (a notice for large ones)
 *
 * Results are exactly-once because `storeResult` is a single SET NX; executions never overlap
 * because a worker runs a task only while it holds the lease and the result does not exist yet.
 *
 * Idempotency keys (docs/idempotency.md has the whole state machine): the claim is written in the
 * same script as the invocation record, so a keyed invocation costs no Redis round trip more than an
 * unkeyed one. It is `pending` until the queue has taken the task; marking it `accepted` is not
 * awaited either: marks wait in memory and ride on the next record write, or go alone after
 * MARK_FLUSH_MS when no write comes. A claim left `pending` (its controller died before the mark
 * went out) is taken over by a repeat after `staleMs`: the repeat enqueues the same invocation id
 * again, which is safe because results are exactly-once per id.
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

/** Marks a claim accepted; recreates it when it is gone (a failed repeat's cleanup raced a late send). */
const ACCEPT_FN = `
local function accept(key, id, fp, ttl)
  local cur = redis.call("hget", key, "id")
  if cur == id then
    redis.call("hset", key, "state", "accepted")
  elseif not cur then
    redis.call("hset", key, "id", id, "fp", fp, "state", "accepted", "at", "0", "owner", id)
    redis.call("expire", key, ttl)
  end
end
local function nowMs()
  local t = redis.call("time")
  return string.format("%.0f", t[1] * 1000 + math.floor(t[2] / 1000))
end`;

/**
 * The invocation record, and the Idempotency-Key's claim when there is one, in one script; first the
 * accepted marks waiting to go out. KEYS: record, [claim], marks...; ARGV: function, enqueuedAt,
 * record TTL, has-claim, id, fingerprint, claim TTL, mark count, then (id, fingerprint) per mark.
 * Returns 0 when recorded, or the claim that already holds the key as {id, fingerprint, state}
 * (then nothing is written).
 */
const RECORD_QUEUED = `${ACCEPT_FN}
local hasClaim = ARGV[4] == "1"
local firstMark = hasClaim and 3 or 2
for i = 0, tonumber(ARGV[8]) - 1 do
  accept(KEYS[firstMark + i], ARGV[9 + 2 * i], ARGV[10 + 2 * i], ARGV[7])
end
if hasClaim then
  local c = redis.call("hmget", KEYS[2], "id", "fp", "state")
  if c[1] then return c end
  redis.call("hset", KEYS[2], "id", ARGV[5], "fp", ARGV[6], "state", "pending", "at", nowMs(), "owner", ARGV[5])
  redis.call("expire", KEYS[2], ARGV[7])
end
redis.call("hset", KEYS[1], "function", ARGV[1], "status", "queued", "attempts", 0, "enqueuedAt", ARGV[2])
redis.call("expire", KEYS[1], ARGV[3])
return 0`;

/** KEYS: marks...; ARGV: claim TTL, then (id, fingerprint) per mark. */
const MARK_ACCEPTED = `${ACCEPT_FN}
for i = 1, #KEYS do accept(KEYS[i], ARGV[2 * i], ARGV[2 * i + 1], ARGV[1]) end
return #KEYS`;

/**
 * A repeat following the claim of invocation ARGV[1]. "gone": the claim was withdrawn (its enqueue
 * failed) or now names another invocation; "accepted"; "pending" while younger than ARGV[2] ms;
 * otherwise the claim is taken over (owner ARGV[3], its time reset) and the answer is "taken" with the
 * record's status, the record recreated as queued when it is missing: the taker enqueues the task
 * again when that status is still "queued".
 */
const FOLLOW_CLAIM = `${ACCEPT_FN}
local c = redis.call("hmget", KEYS[1], "id", "state", "at")
if c[1] ~= ARGV[1] then return {"gone"} end
if c[2] == "accepted" then return {"accepted"} end
local now = nowMs()
if tonumber(now) - tonumber(c[3]) < tonumber(ARGV[2]) then return {"pending"} end
redis.call("hset", KEYS[1], "at", now, "owner", ARGV[3])
local status = redis.call("hget", KEYS[2], "status")
if not status then
  redis.call("hset", KEYS[2], "function", ARGV[4], "status", "queued", "attempts", 0, "enqueuedAt", now)
  redis.call("expire", KEYS[2], ARGV[5])
  status = "queued"
end
return {"taken", status}`;

/** Withdraws a record, and its claim while the claim is still this request's and pending. */
const FORGET_CLAIMED = `
local c = redis.call("hmget", KEYS[2], "owner", "state")
if c[1] ~= ARGV[1] or c[2] ~= "pending" then return 0 end
redis.call("del", KEYS[1], KEYS[2])
return 1`;

/** How long an accepted mark waits for a record write to ride on before it goes alone. */
export const MARK_FLUSH_MS = 10;
/** How long marks that could not be sent wait before the next try. */
const MARK_RETRY_MS = 1000;
/** Marks kept while Redis is unreachable; beyond this the oldest are dropped (their claims get taken over). */
const MAX_WAITING_MARKS = 10_000;

export type LeaseOutcome = "acquired" | "held" | "finished";

/** An Idempotency-Key as the store sees it: its claim's Redis key (a hash of its scope) and the request's fingerprint. */
export interface IdempotencyClaim {
  key: string;
  fingerprint: string;
}

/** The claim that already held a key when `recordQueued` tried to take it. */
export interface ExistingClaim {
  invocationId: string;
  fingerprint: string;
  state: "pending" | "accepted";
}

export type RecordOutcome = { recorded: true } | { recorded: false; existing: ExistingClaim };

export type FollowOutcome = { state: "gone" | "accepted" | "pending" } | { state: "taken"; status: string };

interface Mark {
  key: string;
  id: string;
  fingerprint: string;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

export class InvocationStore {
  private marks: Mark[] = [];
  private markTimer: NodeJS.Timeout | undefined;
  private readonly scripts = new Map<string, ScriptCall>();
  /** A claim lives as long as its invocation's result can be read: 24 h, or the result TTL when shorter. */
  readonly claimTtlSeconds: number;

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
  ) {
    this.claimTtlSeconds = Math.min(ttlSeconds, 86_400);
  }

  /** The script as an EVALSHA call, defined on first use (Redis is sent its text again only when it lost it). */
  private script(name: string, lua: string): ScriptCall {
    let call = this.scripts.get(name);
    if (call === undefined) {
      this.redis.defineCommand(`faas_${name}`, { lua });
      const defined = (this.redis as unknown as Record<string, ScriptCall | undefined>)[`faas_${name}`];
      if (defined === undefined) throw new Error(`ioredis did not define the script ${name}`);
      call = defined.bind(this.redis);
      this.scripts.set(name, call);
    }
    return call;
  }

  /**
   * Records the invocation as queued. With a claim, takes its Idempotency-Key for this invocation in
   * the same script, unless another invocation holds it: then nothing is written and that one is the
   * answer. Accepted marks waiting to go out ride along.
   */
  async recordQueued(
    id: string,
    fn: string,
    enqueuedAt: number,
    claim?: IdempotencyClaim,
  ): Promise<RecordOutcome> {
    const marks = this.takeMarks();
    const keys = [invKey(id), ...(claim === undefined ? [] : [claim.key]), ...marks.map((m) => m.key)];
    const args = [
      fn,
      enqueuedAt,
      this.ttlSeconds,
      claim === undefined ? "0" : "1",
      id,
      claim?.fingerprint ?? "",
      this.claimTtlSeconds,
      marks.length,
      ...marks.flatMap((m) => [m.id, m.fingerprint]),
    ];
    let reply: unknown;
    try {
      reply = await this.script("record_queued", RECORD_QUEUED)(keys.length, ...keys, ...args);
    } catch (err) {
      this.putBack(marks);
      throw err;
    }
    if (!Array.isArray(reply)) return { recorded: true };
    const [existingId, fingerprint, state] = reply as [string, string | null, string | null];
    return {
      recorded: false,
      existing: {
        invocationId: existingId,
        fingerprint: fingerprint ?? "",
        state: state === "accepted" ? "accepted" : "pending",
      },
    };
  }

  /**
   * The queue took `id`'s task: its claim becomes `accepted`. Not awaited: the mark rides on the next
   * record write, or goes alone after MARK_FLUSH_MS. Until then a repeat sees the claim pending and
   * waits a moment more; if this process dies first, a repeat takes the claim over (see FOLLOW_CLAIM).
   */
  markAccepted(id: string, claim: IdempotencyClaim): void {
    this.putBack([{ key: claim.key, id, fingerprint: claim.fingerprint }]);
  }

  /** Sends the waiting marks now (shutdown, tests). */
  async flushMarks(): Promise<void> {
    if (this.markTimer !== undefined) clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const marks = this.takeMarks();
    if (marks.length === 0) return;
    try {
      await this.script("mark_accepted", MARK_ACCEPTED)(
        marks.length,
        ...marks.map((m) => m.key),
        this.claimTtlSeconds,
        ...marks.flatMap((m) => [m.id, m.fingerprint]),
      );
    } catch (err) {
      this.putBack(marks, MARK_RETRY_MS);
      throw err;
    }
  }

  /** The claim holding an Idempotency-Key, if any: a read, for a repeat refused admission. */
  async findClaim(claim: IdempotencyClaim): Promise<ExistingClaim | undefined> {
    const [id, fingerprint, state] = await this.redis.hmget(claim.key, "id", "fp", "state");
    if (id === undefined || id === null) return undefined;
    return {
      invocationId: id,
      fingerprint: fingerprint ?? "",
      state: state === "accepted" ? "accepted" : "pending",
    };
  }

  /**
   * Where the claim that `recordQueued` found for `id` stands now; a pending claim older than
   * `staleMs` is taken over by `owner` (see FOLLOW_CLAIM).
   */
  async followClaim(
    id: string,
    fn: string,
    claim: IdempotencyClaim,
    staleMs: number,
    owner: string,
  ): Promise<FollowOutcome> {
    const reply = (await this.script("follow_claim", FOLLOW_CLAIM)(
      2,
      claim.key,
      invKey(id),
      id,
      staleMs,
      owner,
      fn,
      this.ttlSeconds,
    )) as [string, string?];
    const [state, status] = reply;
    if (state === "taken") return { state, status: status ?? "queued" };
    if (state === "accepted" || state === "pending") return { state };
    return { state: "gone" };
  }

  /**
   * Undo `recordQueued` when the queue refused the task, so no record claims it was accepted. With a
   * claim, the claim goes too, but only while it is still this request's and pending: a repeat that
   * took it over, or a send of it that succeeded, keeps it.
   */
  async forget(id: string, claim?: IdempotencyClaim): Promise<void> {
    if (claim === undefined) await this.redis.del(invKey(id));
    else await this.script("forget_claimed", FORGET_CLAIMED)(2, invKey(id), claim.key, id);
  }

  private takeMarks(): Mark[] {
    if (this.marks.length === 0) return [];
    // They go out now: the timer would only send the next ones early.
    if (this.markTimer !== undefined) clearTimeout(this.markTimer);
    this.markTimer = undefined;
    const marks = this.marks;
    this.marks = [];
    return marks;
  }

  private putBack(marks: Mark[], delayMs = MARK_FLUSH_MS): void {
    if (marks.length === 0) return;
    this.marks.push(...marks);
    if (this.marks.length > MAX_WAITING_MARKS) this.marks.splice(0, this.marks.length - MAX_WAITING_MARKS);
    if (this.markTimer !== undefined) return;
    this.markTimer = setTimeout(() => {
      this.markTimer = undefined;
      // A failed flush keeps its marks and tries again later (or they ride on the next write).
      this.flushMarks().catch(() => undefined);
    }, delayMs);
    this.markTimer.unref();
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
