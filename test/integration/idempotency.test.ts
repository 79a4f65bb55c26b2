/**
 * Idempotency-Key against the real controller, workers, moto and Redis: one invocation per key whatever
 * the repeats, concurrent or late, across a failed enqueue and across a controller's death.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { PlatformClient, RetryEvent } from "../../client/platform-client";
import { AsyncAccepted, ErrorBody, HEADER, InvocationResult } from "../../contracts";
import { notYet, waitFor } from "../../emulator/wait";
import { apiKeyScope, idempotencyClaim } from "../../services/controller/idempotency";
import { Answer, startTestEnvironment, TestEnvironment } from "../fixtures/environment";
import { FUNCTIONS } from "../fixtures/functions";

describe("idempotent invocations (Idempotency-Key)", function () {
  this.timeout(90_000);
  let t: TestEnvironment;
  let redis: Redis;

  before(async () => {
    t = await startTestEnvironment({ workers: 2 });
    redis = new Redis(t.env.redisUrl);
    for (const name of ["counts", "counts2"]) {
      const res = await t.api.deploy(name, FUNCTIONS.counts, { timeoutMs: 10_000 });
      expect(res.status, res.text).to.equal(201);
    }
  });
  after(async () => {
    redis.disconnect();
    await t.env.stop();
  });

  /** Executions of an invocation, as its workers logged them (a function cannot write the host's files). */
  const executions = (invocationId: string) =>
    t.logs.filter((l) => l.includes(invocationId) && l.includes('"msg":"invocation started"')).length;
  const withKey = (key: string, headers: Record<string, string> = {}) => ({
    [HEADER.idempotencyKey]: key,
    ...headers,
  });
  const ASYNC = { [HEADER.invocationType]: "Event" };
  const invocationIdOf = (a: Answer) => a.headers.get(HEADER.invocationId);

  /** The Redis key of a claim, computed as the controller does (the scope hash of the test's API key). */
  const claimOf = (fn: string, key: string, mode: "sync" | "async", event: unknown) =>
    idempotencyClaim(apiKeyScope(t.apiKey), fn, key, mode, Buffer.from(JSON.stringify(event)));

  /** Every claim in this environment's Redis database, by Redis key. */
  async function claims(): Promise<Map<string, Record<string, string>>> {
    const keys = await redis.keys("faas:idem:*");
    const out = new Map<string, Record<string, string>>();
    for (const key of keys) out.set(key, await redis.hgetall(key));
    return out;
  }

  it("N concurrent synchronous requests with one key: one execution, N identical answers", async () => {
    const key = randomUUID();
    const event = { tag: key, ms: 600 };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => t.api.invoke("counts", event, withKey(key))),
    );
    for (const a of answers) expect(a.status, a.text).to.equal(200);
    const ids = new Set(answers.map(invocationIdOf));
    expect(ids.size, "one invocation id").to.equal(1);
    const [id] = [...ids];
    expect(id).to.be.a("string");
    expect(new Set(answers.map((a) => a.text)).size, "one body").to.equal(1);
    expect(answers[0]?.body).to.deep.equal({ tag: key });
    expect(new Set(answers.map((a) => a.headers.get(HEADER.workerId))).size, "one worker").to.equal(1);
    expect(answers.filter((a) => a.headers.get(HEADER.idempotentReplayed) === "true")).to.have.length(7);
    expect(executions(id!)).to.equal(1);
    expect(await t.api.client.getInvocation(id!)).to.include({ status: "succeeded", attempts: 1 });
  });

  it("N concurrent asynchronous requests with one key: the same 202 and id, one task, one execution", async () => {
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => t.api.invoke("counts", { tag: key }, withKey(key, ASYNC))),
    );
    for (const a of answers) expect(a.status, a.text).to.equal(202);
    const ids = new Set(answers.map((a) => AsyncAccepted.parse(a.body).invocationId));
    expect(ids.size).to.equal(1);
    const [id] = [...ids];
    for (const a of answers) {
      expect(a.headers.get("location")).to.equal(`/api/invocations/${id}`);
      expect(invocationIdOf(a)).to.equal(id);
    }
    const view = await t.api.awaitInvocation(id!);
    expect(view).to.include({ status: "succeeded", attempts: 1 });
    expect(executions(id!)).to.equal(1);
  });

  it("a repeat after the result exists answers it again, without running anything", async () => {
    const key = randomUUID();
    const event = { tag: key };
    const first = await t.api.invoke("counts", event, withKey(key));
    expect(first.status, first.text).to.equal(200);
    const id = invocationIdOf(first)!;
    const again = await t.api.invoke("counts", event, withKey(key));
    expect(again.status).to.equal(200);
    expect(again.text).to.equal(first.text);
    expect(invocationIdOf(again)).to.equal(id);
    for (const h of [HEADER.workerId, HEADER.durationMs, HEADER.coldStart])
      expect(again.headers.get(h), h).to.equal(first.headers.get(h));
    expect(again.headers.get(HEADER.idempotentReplayed)).to.equal("true");
    expect(first.headers.get(HEADER.idempotentReplayed)).to.equal(null);

    const asyncKey = randomUUID();
    const accepted = await t.api.invoke("counts", event, withKey(asyncKey, ASYNC));
    const asyncId = AsyncAccepted.parse(accepted.body).invocationId;
    await t.api.awaitInvocation(asyncId);
    const repeated = await t.api.invoke("counts", event, withKey(asyncKey, ASYNC));
    expect(repeated.status).to.equal(202);
    expect(AsyncAccepted.parse(repeated.body).invocationId).to.equal(asyncId);
    expect(executions(id) + executions(asyncId)).to.equal(2);
  });

  it("the same key with a different event or invocation type is a 422, and runs nothing", async () => {
    const key = randomUUID();
    const first = await t.api.invoke("counts", { tag: key }, withKey(key));
    expect(first.status).to.equal(200);
    const otherEvent = await t.api.invoke("counts", { tag: "else" }, withKey(key));
    expect(otherEvent.status, otherEvent.text).to.equal(422);
    expect(ErrorBody.parse(otherEvent.body).error.code).to.equal("IdempotencyKeyReused");
    expect(invocationIdOf(otherEvent)).to.equal(null);
    const otherType = await t.api.invoke("counts", { tag: key }, withKey(key, ASYNC));
    expect(otherType.status, otherType.text).to.equal(422);
    // The same key for another function is another key: scoped per function (and per API key).
    const elsewhere = await t.api.invoke("counts2", { tag: key }, withKey(key));
    expect(elsewhere.status, elsewhere.text).to.equal(200);
    expect(invocationIdOf(elsewhere)).not.to.equal(invocationIdOf(first));
  });

  it("a malformed key is a 400 and nothing is claimed", async () => {
    const before = (await claims()).size;
    for (const bad of ["two words", "k".repeat(256), '"', "a,b", "caf\u00e9"]) {
      const res = await t.api
        .call("POST", "/api/functions/counts/invoke", undefined, {
          [HEADER.idempotencyKey]: bad,
        })
        .catch((err: unknown) => ({ status: -1, text: String(err), body: undefined }) as Answer);
      if (res.status === -1) continue; // fetch itself refuses a non-Latin-1 header value
      expect(res.status, `${JSON.stringify(bad)}: ${res.text}`).to.equal(400);
      expect(ErrorBody.parse(res.body).error.message).to.match(/Idempotency-Key/);
    }
    expect((await claims()).size).to.equal(before);
  });

  it("a claim is stored scoped and hashed: neither the API key nor the caller's key appears in Redis", async () => {
    const key = `visible-${randomUUID()}`;
    const res = await t.api.invoke("counts", { tag: key }, withKey(key, ASYNC));
    expect(res.status).to.equal(202);
    const all = await claims();
    const mine = [...all].find(([, claim]) => claim.id === AsyncAccepted.parse(res.body).invocationId);
    expect(mine, "the claim").to.not.equal(undefined);
    const [redisKey, claim] = mine!;
    expect(redisKey).to.equal(claimOf("counts", key, "async", { tag: key }).key);
    const dump = JSON.stringify([redisKey, claim]);
    expect(dump).not.to.include(t.apiKey);
    expect(dump).not.to.include(key);
    const ttl = await redis.ttl(redisKey);
    expect(ttl).to.be.within(86_400 - 60, 86_400);
    await waitFor(
      "the claim marked accepted",
      async () => (await redis.hget(redisKey, "state")) === "accepted",
      {
        timeoutMs: 2000,
      },
    );
  });

  it("an enqueue that fails answers 503 to the request and every concurrent repeat; the key is free again", async () => {
    const key = randomUUID();
    const event = { tag: key };
    await t.env.queueEndpoint.setCut(true);
    let during: Answer[];
    try {
      during = await Promise.all(
        Array.from({ length: 4 }, () => t.api.invoke("counts", event, withKey(key, ASYNC))),
      );
    } finally {
      await t.env.queueEndpoint.setCut(false);
    }
    expect(
      during.map((a) => a.status),
      "nobody was told 202 for an invocation the queue never took",
    ).to.deep.equal([503, 503, 503, 503]);
    expect(await redis.exists(claimOf("counts", key, "async", event).key), "no claim left behind").to.equal(
      0,
    );

    const after = await t.api.invoke("counts", event, withKey(key, ASYNC));
    expect(after.status, after.text).to.equal(202);
    const id = AsyncAccepted.parse(after.body).invocationId;
    expect(await t.api.awaitInvocation(id)).to.include({ status: "succeeded", attempts: 1 });
    expect(executions(id)).to.equal(1);
  });

  it("a claim left pending by a dead controller is taken over: the same invocation id runs, once", async () => {
    const key = randomUUID();
    const event = { tag: key, ms: 100 };
    const claim = claimOf("counts", key, "sync", event);
    const orphan = randomUUID();
    // As a controller leaves it that died after claiming the key, before the queue took the task.
    await redis.hset(claim.key, {
      id: orphan,
      fp: claim.fingerprint,
      state: "pending",
      at: 0,
      owner: orphan,
    });
    await redis.expire(claim.key, 600);
    const answers = await Promise.all([
      t.api.invoke("counts", event, withKey(key)),
      t.api.invoke("counts", event, withKey(key)),
    ]);
    for (const a of answers) {
      expect(a.status, a.text).to.equal(200);
      expect(invocationIdOf(a)).to.equal(orphan);
      expect(a.body).to.deep.equal({ tag: key });
    }
    expect(await redis.hget(claim.key, "state")).to.equal("accepted");
    expect(executions(orphan)).to.equal(1);
  });

  it("a repeat across a controller kill: the new controller finds the key and attaches to the running invocation", async () => {
    const key = randomUUID();
    const event = { tag: key, ms: 4000 };
    const first = t.api.invoke("counts", event, withKey(key)).catch((err: unknown) => err);
    const id = await waitFor(
      "the invocation running",
      async () => {
        const claimed = await redis.hget(claimOf("counts", key, "sync", event).key, "id");
        if (claimed === null) return notYet("no claim yet");
        return executions(claimed) === 1 ? claimed : notYet("not started");
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    const old = t.env.live("controller")[0]!;
    t.env.kill(old.instanceId);
    const lost = await first;
    expect(
      lost instanceof Error || (lost as Answer).status >= 500,
      "the first caller lost its answer",
    ).to.equal(true);
    await waitFor(
      "a new controller serving",
      async () => {
        const res = await fetch(`${t.env.endpoint}/healthz`).catch(() => undefined);
        return (
          res?.ok === true && ((await res.json()) as { instanceId: string }).instanceId !== old.instanceId
        );
      },
      { timeoutMs: 20_000 },
    );
    const again = await t.api.invoke("counts", event, withKey(key));
    expect(again.status, again.text).to.equal(200);
    expect(invocationIdOf(again)).to.equal(id);
    expect(again.body).to.deep.equal({ tag: key });
    expect(executions(id)).to.equal(1);
    const view = await t.api.client.getInvocation(id);
    expect(view).to.include({ status: "succeeded", attempts: 1 });
    const stored = InvocationResult.parse(JSON.parse((await redis.get(`faas:result:${id}`)) ?? "null"));
    expect(stored.invocationId).to.equal(id);
  });

  it("the retrying client turns a controller kill into latency: a sync call in flight and one sent during the gap", async () => {
    const retries: RetryEvent[] = [];
    const client = new PlatformClient(t.env.endpoint, t.apiKey, {
      retry: { deadlineMs: 30_000 },
      onRetry: (e) => retries.push(e),
    });
    const key = randomUUID();
    const event = { tag: key, ms: 3000 };
    const inFlight = client.invoke("counts", event, { idempotencyKey: key });
    const id = await waitFor(
      "the invocation running",
      async () => {
        const claimed = await redis.hget(claimOf("counts", key, "sync", event).key, "id");
        return claimed !== null && executions(claimed) === 1 ? claimed : notYet("not started");
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    t.env.kill(t.env.live("controller")[0]!.instanceId);
    const sentInGap = client.invokeAsync("counts", { tag: `gap-${key}` });
    const out = await inFlight;
    expect(out).to.include({ status: 200, invocationId: id });
    expect(out.body).to.deep.equal({ tag: key });
    expect(executions(id), "resumed, not run again").to.equal(1);
    const { invocationId } = await sentInGap;
    expect(await t.api.awaitInvocation(invocationId)).to.include({ status: "succeeded", attempts: 1 });
    expect(retries.length, "the client retried through the gap").to.be.greaterThan(0);
    expect(
      retries.filter((r) => r.path.endsWith("/invoke") && r.idempotencyKey === key).length,
    ).to.be.greaterThan(0);
  });
});
