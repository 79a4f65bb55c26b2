/**
 * The exactly-once core of the worker — lease, keep-alive, store, then delete — against fakes at its
 * interfaces: a TaskSource, the lease store, the code cache and the runtime pool. Each test records
 * what the processor did, in order, and checks the order as well as the calls.
 */
import { expect } from "chai";
import { randomUUID } from "node:crypto";
import pino from "pino";
import { InvocationResult, InvocationTask, TaskFunction } from "../../contracts";
import { EnvSealer } from "../../services/common/env-seal";
import { LeaseOutcome } from "../../services/common/invocation-store";
import { Logger } from "../../services/common/logger";
import { CodeError } from "../../services/worker/code-cache";
import { RunOutcome } from "../../services/worker/sandbox/sandbox-process";
import { FunctionRuntime, processMessage, ProcessorDeps } from "../../services/worker/task-processor";
import { TaskMessage, TaskSource } from "../../services/worker/task-source";

type StoreOutcome = "stored" | "duplicate" | "lease-lost";

const sealer = new EnvSealer("k".repeat(32));
const fn: TaskFunction = {
  name: "hello",
  version: 3,
  codeSha256: "a".repeat(64),
  codeKey: "code/a",
  codeFormat: "source",
  codeSize: 10,
  handler: "index.handler",
  timeoutMs: 1000,
  memoryMb: 128,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
};

function taskMessage(overrides: Partial<TaskMessage> = {}): { task: InvocationTask; message: TaskMessage } {
  const invocationId = randomUUID();
  const task: InvocationTask = {
    invocationId,
    function: fn,
    sealedEnv: sealer.seal({ SECRET: "s" }, { invocationId, functionName: fn.name, version: fn.version }),
    event: { n: 1 },
    mode: "async",
    enqueuedAt: Date.now(),
  };
  return {
    task,
    message: { body: JSON.stringify(task), receipt: "r-1", receiveCount: 2, messageId: "m-1", ...overrides },
  };
}

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** Everything the processor might touch, faked, with one ordered record of what it did. */
function harness(
  options: {
    lease?: LeaseOutcome;
    extendLease?: () => Promise<boolean>;
    store?: (attempt: number) => Promise<StoreOutcome>;
    run?: () => Promise<RunOutcome>;
    dirFor?: () => Promise<string>;
    deleteFails?: boolean;
    extendFails?: boolean;
    visibilityTimeoutS?: number;
  } = {},
) {
  const events: string[] = [];
  const lines: LogLine[] = [];
  const log: Logger = pino(
    { level: "debug" },
    { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  );
  const stored: InvocationResult[] = [];
  const released: boolean[] = [];
  const abort = new AbortController();
  let storeAttempts = 0;

  const source: TaskSource = {
    receive: () => Promise.resolve([]),
    extendVisibility: (receipt, seconds) => {
      events.push(`extend ${receipt} ${seconds}`);
      return options.extendFails ? Promise.reject(new Error("sqs down")) : Promise.resolve();
    },
    delete: (receipt) => {
      events.push(`delete ${receipt}`);
      return options.deleteFails ? Promise.reject(new Error("delete refused")) : Promise.resolve();
    },
    drain: () => Promise.resolve(),
  };
  const runtime: FunctionRuntime = {
    run: () => {
      events.push("run");
      return (
        options.run?.() ??
        Promise.resolve({ status: "succeeded", value: { ok: true }, logs: "hi\n", durationMs: 7 })
      );
    },
  };
  const deps: ProcessorDeps = {
    workerId: "worker-a",
    envSealer: sealer,
    source,
    visibilityTimeoutS: options.visibilityTimeoutS ?? 30,
    store: {
      acquireLease: (id, owner, leaseMs) => {
        events.push(`acquire ${owner} ${leaseMs}`);
        return Promise.resolve(options.lease ?? "acquired");
      },
      extendLease: () => {
        events.push("extend-lease");
        return options.extendLease?.() ?? Promise.resolve(true);
      },
      storeResult: async (result) => {
        storeAttempts += 1;
        const outcome = await (options.store?.(storeAttempts) ?? Promise.resolve<StoreOutcome>("stored"));
        events.push(`store ${outcome}`);
        if (outcome === "stored") stored.push(result);
        return outcome;
      },
    },
    code: {
      dirFor: () => {
        events.push("code");
        return options.dirFor?.() ?? Promise.resolve("/code/a");
      },
    },
    pool: {
      acquire: (record) => {
        events.push(`acquire-runtime ${record.env.SECRET ?? ""}`);
        return { proc: runtime, cold: true };
      },
      release: (_proc, _dir, reusable) => {
        released.push(reusable);
        return Promise.resolve();
      },
    },
    log,
    signal: abort.signal,
    storeBackoff: { initialMs: 10, maxMs: 20 },
  };
  return {
    deps,
    events,
    lines,
    stored,
    released,
    abort,
    logged: (msg: string) => lines.filter((l) => l.msg === msg),
    storeAttempts: () => storeAttempts,
  };
}

/** Lets promise chains the processor does not await (deletion, parking) run to their end. */
const settle = () => new Promise((r) => setImmediate(r));

describe("processMessage: one task, lease to deletion", () => {
  it("runs a task, stores its result, and deletes the message only after the result is stored", async () => {
    const h = harness();
    const { task, message } = taskMessage();
    await processMessage(h.deps, message);
    await settle();
    expect(h.events).to.deep.equal([
      "acquire worker-a 24000",
      "code",
      "acquire-runtime s",
      "run",
      "store stored",
      "delete r-1",
    ]);
    expect(h.stored).to.have.length(1);
    expect(h.stored[0]).to.include({
      invocationId: task.invocationId,
      function: "hello",
      status: "succeeded",
      workerId: "worker-a",
      durationMs: 7,
      coldStart: true,
      logs: "hi\n",
    });
    expect(h.stored[0]?.result).to.deep.equal({ ok: true });
    expect(h.released, "a clean run is parked for reuse").to.deep.equal([true]);
    expect(h.logged("invocation started")[0]).to.include({ attempt: 2, invocationId: task.invocationId });
    expect(h.logged("invocation finished")[0]).to.include({ status: "succeeded", stored: "stored" });
  });

  it("deletes a duplicate delivery of a finished invocation without running it", async () => {
    const h = harness({ lease: "finished" });
    await processMessage(h.deps, taskMessage().message);
    // The code was looked up while the lease was asked for (it changes nothing); nothing ran.
    expect(h.events).to.deep.equal(["acquire worker-a 24000", "code", "delete r-1"]);
    expect(
      h.logged("duplicate delivery of a finished invocation: deleting it without running"),
    ).to.have.length(1);
  });

  it("hides a copy whose lease another worker holds: not run, not deleted", async () => {
    const h = harness({ lease: "held" });
    await processMessage(h.deps, taskMessage().message);
    expect(h.events).to.deep.equal(["acquire worker-a 24000", "code", "extend r-1 30"]);
  });

  it("leaves a held copy alone when its visibility cannot be changed, without throwing", async () => {
    const h = harness({ lease: "held", extendFails: true });
    await processMessage(h.deps, taskMessage().message);
    expect(h.events).to.deep.equal(["acquire worker-a 24000", "code", "extend r-1 30"]);
  });

  it("ignores the code's failure for a copy it does not run (finished elsewhere)", async () => {
    const h = harness({ lease: "finished", dirFor: () => Promise.reject(new Error("no such object")) });
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on("unhandledRejection", onUnhandled);
    try {
      await processMessage(h.deps, taskMessage().message);
      await settle();
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    expect(h.events).to.deep.equal(["acquire worker-a 24000", "code", "delete r-1"]);
    expect(unhandled).to.deep.equal([]);
  });

  it("drops the result of a run whose lease was lost meanwhile, and keeps the message", async () => {
    let leaseChecked: () => void = () => undefined;
    const checked = new Promise<void>((r) => (leaseChecked = r));
    const h = harness({
      // A lease of 500 ms (the floor) is renewed every 200 ms; the renewal finds it taken.
      visibilityTimeoutS: 0.5,
      extendLease: () => {
        leaseChecked();
        return Promise.resolve(false);
      },
      run: async () => {
        await checked;
        await settle();
        return { status: "succeeded", value: 1, logs: "", durationMs: 1 };
      },
    });
    await processMessage(h.deps, taskMessage().message);
    await settle();
    expect(h.events).to.include("extend r-1 0.5", "message and lease are kept alive while it runs");
    expect(h.events).to.include("extend-lease");
    expect(h.events.filter((e) => e.startsWith("store") || e.startsWith("delete"))).to.deep.equal([]);
    expect(h.released, "a runtime whose result is dropped is not reused").to.deep.equal([false]);
    expect(
      h.logged("lost the lease while running (another worker took over): dropping this execution's result"),
    ).to.have.length(1);
  });

  it("keeps retrying while Redis is down, keeping the message hidden, then stores once and deletes", async () => {
    const h = harness({
      visibilityTimeoutS: 0.06, // extend after 20 ms of failing
      store: (attempt) =>
        attempt <= 4 ? Promise.reject(new Error("Connection is closed.")) : Promise.resolve("stored"),
    });
    await processMessage(h.deps, taskMessage().message);
    await settle();
    expect(h.storeAttempts()).to.equal(5);
    expect(h.stored).to.have.length(1);
    expect(h.logged("could not store the result yet; retrying")).to.have.length(4);
    const afterRun = h.events.slice(h.events.indexOf("run") + 1);
    expect(
      afterRun.filter((e) => e.startsWith("extend r-1")).length,
      "visibility extended while retrying",
    ).to.be.at.least(1);
    expect(afterRun.slice(-2), "deleted only after the result is stored").to.deep.equal([
      "store stored",
      "delete r-1",
    ]);
  });

  it("gives up storing when the worker stops, and leaves the message for another worker", async () => {
    const h = harness({ store: () => Promise.reject(new Error("Connection is closed.")) });
    setTimeout(() => h.abort.abort(), 30);
    let error: unknown;
    await processMessage(h.deps, taskMessage().message).catch((err: unknown) => (error = err));
    expect(String(error)).to.include("Connection is closed.");
    expect(h.events.filter((e) => e.startsWith("delete"))).to.deep.equal([]);
  });

  it("keeps the message when another worker's lease is found at store time", async () => {
    const h = harness({ store: () => Promise.resolve("lease-lost") });
    await processMessage(h.deps, taskMessage().message);
    await settle();
    expect(h.events.filter((e) => e.startsWith("delete"))).to.deep.equal([]);
    expect(h.logged("invocation finished")[0]).to.include({ stored: "lease-lost" });
  });

  it("deletes the message when a result was already stored (the first one stands)", async () => {
    const h = harness({ store: () => Promise.resolve("duplicate") });
    await processMessage(h.deps, taskMessage().message);
    await settle();
    expect(h.events.slice(-2)).to.deep.equal(["store duplicate", "delete r-1"]);
  });

  it("logs a deletion that fails instead of throwing", async () => {
    for (const lease of ["acquired", "finished"] as const) {
      const h = harness({ lease, deleteFails: true });
      await processMessage(h.deps, taskMessage().message);
      await settle();
      expect(h.events.at(-1)).to.equal("delete r-1");
      const warned = h.logged("could not delete a finished message");
      expect(warned, lease).to.have.length(1);
      expect(warned[0]?.err).to.include("delete refused");
    }
  });

  it("stores a failure when the code cannot be had, without running anything", async () => {
    const h = harness({
      dirFor: () => Promise.reject(new CodeError("the code is not a readable zip archive")),
    });
    await processMessage(h.deps, taskMessage().message);
    await settle();
    expect(h.events).not.to.include("run");
    expect(h.stored[0]).to.include({ status: "failed", coldStart: false });
    expect(h.stored[0]?.error).to.deep.equal({
      type: "CodeError",
      message: "the code is not a readable zip archive",
    });
    expect(h.events.at(-1)).to.equal("delete r-1");
  });

  for (const [what, body] of [
    ["not JSON", "{nope"],
    ["JSON that is not a task", JSON.stringify({ invocationId: "x" })],
    ["no body", undefined],
  ] as const) {
    it(`leaves a message with ${what} for the dead-letter queue: no lease, no deletion`, async () => {
      const h = harness();
      await processMessage(h.deps, { body, receipt: "r-1", receiveCount: 1, messageId: "m-9" });
      expect(h.events).to.deep.equal([]);
      expect(h.logged("message is not a valid task; leaving it for the dead-letter queue")[0]).to.include({
        messageId: "m-9",
      });
    });
  }
});
