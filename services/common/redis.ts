import { Redis, RedisOptions } from "ioredis";
import { Logger } from "./logger";

/**
 * A Redis connection that reconnects forever with capped backoff. `failFast` connections refuse
 * commands while disconnected (the controller answers 503 at once); the others queue them until the
 * connection is back (the worker keeps a result until it can store it).
 */
export function connectRedis(url: string, log: Logger, options: { failFast: boolean; name: string }): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.failFast ? 1 : null,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: true,
  };
  const redis = new Redis(url, redisOptions);
  let wasReady = false;
  redis.on("ready", () => {
    if (wasReady) log.info({ connection: options.name }, "redis reconnected");
    wasReady = true;
  });
  redis.on("error", (err: Error) => {
    log.debug({ connection: options.name, err: err.message }, "redis connection error");
  });
  return redis;
}

export async function waitReady(redis: Redis, log: Logger, what: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await redis.connect();
      return;
    } catch (err) {
      if (redis.status === "ready") return;
      if (attempt % 10 === 1) log.warn({ err: String(err), attempt }, `waiting for redis (${what})`);
      redis.disconnect();
      await new Promise((r) => setTimeout(r, Math.min(100 * attempt, 2000)));
    }
  }
}
