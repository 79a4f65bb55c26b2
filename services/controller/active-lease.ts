/**
 * Which controller is active, when a standby runs beside it: a lease in Redis. The holder renews it
 * every `renewMs`; it expires `leaseMs` after the last renewal, and whoever asks next takes it. Each
 * new holder gets the next epoch (a counter that only grows), so a log line, a claim or a test can
 * tell one term from the next.
 *
 *   faas:controller:active   "<instanceId>|<epoch>" (PX leaseMs)
 *   faas:controller:epoch    the last epoch handed out
 *
 * A Redis that cannot be reached decides nothing: `tick` throws, and the caller keeps the role it had
 * (the active keeps serving, the standby keeps waiting). That is the price of a lease in the store
 * both controllers already depend on: no handover while Redis is down.
 */
import { Redis } from "ioredis";

export const ACTIVE_KEY = "faas:controller:active";
export const EPOCH_KEY = "faas:controller:epoch";

/** 1 taken (a new term), 2 renewed, 0 held by another: { code, epoch, holder }. */
const TAKE_OR_RENEW = `
local current = redis.call("get", KEYS[1])
if not current then
  local epoch = redis.call("incr", KEYS[2])
  redis.call("set", KEYS[1], ARGV[1] .. "|" .. epoch, "PX", ARGV[2])
  return {1, epoch, ARGV[1]}
end
local sep = string.find(current, "|", 1, true)
local holder = string.sub(current, 1, sep - 1)
local epoch = tonumber(string.sub(current, sep + 1))
if holder == ARGV[1] then
  redis.call("pexpire", KEYS[1], ARGV[2])
  return {2, epoch, holder}
end
return {0, epoch, holder}`;

/** Gives the lease up only if this holder still has it. */
const RELEASE = `
local current = redis.call("get", KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. "|" then
  return redis.call("del", KEYS[1])
end
return 0`;

export interface LeaseState {
  /** Whether this controller holds the lease after the tick. */
  held: boolean;
  /** True when this tick began a new term for this controller. */
  taken: boolean;
  epoch: number;
  holder: string;
}

export class ActiveLease {
  constructor(
    private readonly redis: Pick<Redis, "eval">,
    readonly holder: string,
    readonly leaseMs: number,
  ) {
    if (holder.includes("|")) throw new Error(`a lease holder's name cannot contain '|': ${holder}`);
  }

  /** Takes the lease if it is free, renews it if held; throws when Redis does not answer. */
  async tick(): Promise<LeaseState> {
    const [code, epoch, holder] = (await this.redis.eval(
      TAKE_OR_RENEW,
      2,
      ACTIVE_KEY,
      EPOCH_KEY,
      this.holder,
      this.leaseMs,
    )) as [number, number, string];
    return { held: code !== 0, taken: code === 1, epoch, holder };
  }

  /** Hands the lease over at once (a planned stop): the standby's next tick takes it. */
  async release(): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, ACTIVE_KEY, this.holder)) === 1;
  }
}
