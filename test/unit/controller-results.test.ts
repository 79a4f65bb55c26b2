import { expect } from "chai";
import { EventEmitter } from "node:events";
import { Redis } from "ioredis";
import { InvocationResult } from "../../contracts";
import { InvocationStore } from "../../services/common/invocation-store";
import { createLogger } from "../../services/common/logger";
import { checkZip } from "../../services/controller/code-archive";
import { InflightTracker } from "../../services/controller/inflight";
import { KnownFunctions } from "../../services/controller/known-functions";
import { createMetrics } from "../../services/controller/metrics";
import { ResultMetrics } from "../../services/controller/result-metrics";
import { MAX_RESULT_MESSAGE_CHARS, ResultWaiter } from "../../services/controller/result-waiter";

const log = createLogger("test", "silent");
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const result = (invocationId: string, fn: string): InvocationResult => ({
  invocationId,
  function: fn,
  status: "succeeded",
  workerId: "w",
  durationMs: 5,
  coldStart: true,
  logs: "",
  finishedAt: 0,
});

describe("results from the channel do not choose metric labels", () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it("labels a result with the function this controller accepted, not the name in the message", async () => {
    const metrics = createMetrics();
    const inflight = new InflightTracker();
    const known = { has: () => Promise.resolve(false) };
    inflight.admit(id(1), "real", undefined, 60_000);
    new ResultMetrics(inflight, known, metrics, log).observe(result(id(1), "forged-name"));
    await tick();
    const text = await metrics.registry.metrics();
    expect(text).to.match(/faas_invocations_total\{function="real",outcome="succeeded"\} 1/);
    expect(text).not.to.include("forged-name");
    expect(inflight.count("real"), "the result ends the in-flight entry").to.equal(0);
  });

  it("counts results of unknown invocations under existing functions only, others unlabelled", async () => {
    const metrics = createMetrics();
    const known = { has: (name: string) => Promise.resolve(name === "old") };
    const observer = new ResultMetrics(new InflightTracker(), known, metrics, log);
    observer.observe(result(id(2), "old"));
    for (let i = 0; i < 50; i++) observer.observe(result(id(100 + i), `junk-${i}`));
    await tick();
    const text = await metrics.registry.metrics();
    expect(text).to.match(/faas_invocations_total\{function="old",outcome="succeeded"\} 1/);
    expect(text).not.to.include("junk-");
    expect(text).to.match(/faas_results_unattributed_total 50/);
  });

  it("learns function names with one list per refresh period, whatever arrives", async () => {
    let lists = 0;
    let now = 0;
    const known = new KnownFunctions(
      {
        list: () => {
          lists++;
          return Promise.resolve([{ name: "a" }] as never);
        },
      },
      log,
      10_000,
      () => now,
    );
    expect(await known.has("a")).to.equal(true);
    for (let i = 0; i < 20; i++) expect(await known.has(`x${i}`)).to.equal(false);
    expect(await known.has("not a name!")).to.equal(false);
    expect(lists).to.equal(1);
    known.added("b");
    expect(await known.has("b")).to.equal(true);
    now += 10_000;
    expect(await known.has("y")).to.equal(false);
    expect(lists).to.equal(2);
  });

  it("drops oversized and malformed messages before they reach anyone", () => {
    const subscriber = Object.assign(new EventEmitter(), { subscribe: () => Promise.resolve(1) });
    const seen: InvocationResult[] = [];
    let invalid = 0;
    const waiter = new ResultWaiter(
      subscriber as unknown as Redis,
      new InvocationStore(subscriber as unknown as Redis, 60),
      log,
      (r) => seen.push(r),
      () => invalid++,
    );
    const good = JSON.stringify(result(id(3), "f"));
    const oversized = JSON.stringify({ ...result(id(4), "f"), logs: "x".repeat(MAX_RESULT_MESSAGE_CHARS) });
    for (const message of [good, oversized, "{nope", JSON.stringify({ invocationId: "x" })]) {
      subscriber.emit("message", "faas:results", message);
    }
    expect(seen.map((r) => r.invocationId)).to.deep.equal([id(3)]);
    expect(invalid).to.equal(3);
    expect(waiter.size).to.equal(0);
  });
});

describe("in-flight tracker", () => {
  it("admits up to the limit, frees on release, and expires entries", () => {
    let now = 0;
    const inflight = new InflightTracker(() => now);
    expect(inflight.admit(id(1), "f", 2, 1000)).to.equal(true);
    expect(inflight.admit(id(2), "f", 2, 1000)).to.equal(true);
    expect(inflight.admit(id(3), "f", 2, 1000)).to.equal(false);
    expect(inflight.admit(id(4), "g", undefined, 1000)).to.equal(true);
    expect(inflight.release(id(1))).to.equal("f");
    expect(inflight.release(id(1)), "a second result for the same id counts nothing").to.equal(undefined);
    expect(inflight.admit(id(5), "f", 2, 1000)).to.equal(true);
    now = 1000;
    expect(inflight.count("f")).to.equal(0);
    expect(inflight.release(id(2)), "an expired entry no longer attributes").to.equal(undefined);
    now = 5000;
    inflight.admit(id(6), "h", undefined, 1000);
    expect(inflight.size, "a sweep drops every expired entry").to.equal(1);
  });
});

describe("zip checks at deploy", () => {
  let AdmZip: typeof import("adm-zip");
  before(async () => {
    AdmZip = (await import("adm-zip")).default;
  });
  const limits = { maxUnpackedBytes: 1024 };
  const zipWith = (names: string[], bytes = 1) => {
    const zip = new AdmZip();
    names.forEach((name, i) => {
      zip.addFile(`f${i}.js`, Buffer.alloc(bytes, 1));
      const entry = zip.getEntry(`f${i}.js`);
      if (entry !== null) entry.entryName = name;
    });
    return zip.toBuffer();
  };

  it("accepts <module>.js and <module>/index.js", () => {
    checkZip(zipWith(["index.js"]), "index.handler", limits);
    checkZip(zipWith(["src/app.js", "README"]), "src/app.main", limits);
    checkZip(zipWith(["lib/index.js"]), "lib.handler", limits);
  });

  for (const [name, reason] of [
    ["/etc/cron.d/x", "absolute path"],
    ["C:/x.js", "absolute path"],
    ["../x.js", "'..' segment"],
    ["a/../../x.js", "'..' segment"],
    ["a\\b.js", "backslash"],
    ["index.js", "two entries named"],
  ] as const) {
    it(`refuses an entry named ${name}`, () => {
      expect(() => checkZip(zipWith(["index.js", name]), "index.handler", limits)).to.throw(reason);
    });
  }

  it("refuses too many entries, too many declared bytes, and a missing module", () => {
    expect(() =>
      checkZip(zipWith(["index.js", "a.js", "b.js"]), "index.handler", { ...limits, maxEntries: 2 }),
    ).to.throw("3 entries");
    expect(() => checkZip(zipWith(["index.js"], 2000), "index.handler", limits)).to.throw(
      "unpacks to 2000 bytes",
    );
    expect(() => checkZip(zipWith(["main.js"]), "index.handler", limits)).to.throw("'index.js'");
    expect(() => checkZip(Buffer.from("PK\x03\x04 not really"), "index.handler", limits)).to.throw(
      "not a readable zip",
    );
  });
});
