import { EnvSealer } from "../../services/common/env-seal";
import { expect } from "chai";
import { AddressInfo } from "node:net";
import { Server } from "node:http";
import { DeployFunctionRequest, FunctionRecord, InvocationResult, InvocationTask } from "../../contracts";
import { createLogger } from "../../services/common/logger";
import { FunctionStore } from "../../services/controller/function-store";
import { createApp } from "../../services/controller/http/app";
import { InflightTracker } from "../../services/controller/inflight";
import { TaskQueue } from "../../services/controller/task-queue";
import { fakeInvocations, RECORD, usualAppDeps } from "../fixtures/controller";

/** The HTTP layer against fakes of its interfaces: the failure modes that are hard to cause for real. */
const record = RECORD;
const limited: FunctionRecord = { ...record, name: "limited", maxConcurrency: 2 };

class FakeFunctions implements FunctionStore {
  put(_name: string, _req: DeployFunctionRequest) {
    return Promise.resolve({ record, changed: true });
  }
  get(name: string) {
    return Promise.resolve([record, limited].find((r) => r.name === name));
  }
  list() {
    return Promise.resolve([record, limited]);
  }
  delete() {
    return Promise.resolve(true);
  }
}

class FakeQueue implements TaskQueue {
  depth: number | undefined = 0;
  fail = false;
  sent: InvocationTask[] = [];
  send(task: InvocationTask) {
    if (this.fail) return Promise.reject(new Error("endpoint unreachable"));
    this.sent.push(task);
    return Promise.resolve();
  }
  approximateDepth() {
    return this.depth;
  }
  close() {
    return Promise.resolve();
  }
}

/** Answers a synchronous waiter at once, or holds it until `finish` (a slow function). */
class FakeResults {
  hold = false;
  private readonly held = new Map<string, (r: InvocationResult | undefined) => void>();
  size = 0;
  wait(id: string): Promise<InvocationResult | undefined> {
    const result: InvocationResult = {
      invocationId: id,
      function: "f",
      status: "succeeded",
      result: { ok: true },
      workerId: "w",
      durationMs: 1,
      coldStart: false,
      logs: "",
      finishedAt: 0,
    };
    if (!this.hold) return Promise.resolve(result);
    return new Promise((resolve) => this.held.set(id, () => resolve(result)));
  }
  cancel() {}
  deliver() {}
  finishAll(): void {
    for (const [id, finish] of this.held) {
      this.held.delete(id);
      finish(undefined);
    }
  }
}

describe("controller HTTP layer (fakes at the interfaces)", () => {
  let server: Server;
  let base: string;
  const queue = new FakeQueue();
  const results = new FakeResults();
  const forgotten: string[] = [];
  const key = "k".repeat(20);
  let clock = 1_000_000;
  const inflight = new InflightTracker(() => clock);

  before(async () => {
    const log = createLogger("test", "silent");
    const app = createApp({
      instanceId: () => "i-test",
      apiKey: key,
      workerSecret: "s".repeat(20),
      envSealer: new EnvSealer("e".repeat(32)),
      functions: new FakeFunctions(),
      queue,
      invocations: fakeInvocations({
        forget: (id: string) => {
          forgotten.push(id);
          return Promise.resolve();
        },
      }),
      results,
      inflight,
      ...usualAppDeps(log),
    });
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });
  beforeEach(() => {
    queue.fail = false;
    queue.depth = 0;
    results.hold = false;
  });

  const invoke = (async = false, name = "f") =>
    fetch(`${base}/api/functions/${name}/invoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, ...(async ? { "x-invocation-type": "Event" } : {}) },
      body: "{}",
    });

  it("503 when the queue refuses the task, and the queued record is withdrawn", async () => {
    queue.fail = true;
    const res = await invoke(true);
    expect(res.status).to.equal(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("ServiceUnavailable");
    expect(body.error.message).to.include("nothing was accepted");
    expect(forgotten).to.have.length(1);
  });

  it("429 when the queue is deeper than the platform's capacity", async () => {
    queue.depth = 100;
    const res = await invoke(true);
    expect(res.status).to.equal(429);
    expect(res.headers.get("retry-after")).to.equal("1");
  });

  it("answers 200 with the result when all is well", async () => {
    const res = await invoke();
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ ok: true });
    expect(queue.sent.at(-1)?.function.name).to.equal("f");
  });

  describe("maxConcurrency", () => {
    it("429 once a function has maxConcurrency invocations in flight, sync or async, and enqueues nothing", async () => {
      results.hold = true;
      const first = await invoke(true, "limited");
      expect(first.status).to.equal(202);
      const syncCall = invoke(false, "limited");
      await waitUntil(() => inflight.count("limited") === 2);
      const sentBefore = queue.sent.length;

      for (const async of [true, false]) {
        const refused = await invoke(async, "limited");
        expect(refused.status).to.equal(429);
        expect(refused.headers.get("retry-after")).to.equal("1");
        const body = (await refused.json()) as { error: { code: string; message: string } };
        expect(body.error.code).to.equal("TooManyRequests");
        expect(body.error.message).to.include("concurrency limit of 2");
      }
      expect(queue.sent.length, "nothing enqueued when throttled").to.equal(sentBefore);
      expect((await invoke(true, "f")).status, "other functions are not limited").to.equal(202);

      // The async invocation's result arrives on the channel: one slot frees.
      const asyncId = first.headers.get("x-invocation-id") ?? "";
      expect(inflight.release(asyncId)).to.equal("limited");
      expect((await invoke(true, "limited")).status).to.equal(202);
      expect((await invoke(true, "limited")).status).to.equal(429);

      results.hold = false;
      results.finishAll();
      expect((await syncCall).status, "the slow synchronous call finished").to.equal(200);
      expect(inflight.count("limited"), "its slot is free again").to.equal(1);
      expect((await invoke(false, "limited")).status).to.equal(200);

      const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      expect(await metrics.text()).to.match(
        /faas_invocations_total\{function="limited",outcome="throttled"\} 3/,
      );
    });

    it("frees a slot when the enqueue fails", async () => {
      const before = inflight.count("limited");
      queue.fail = true;
      expect((await invoke(true, "limited")).status).to.be.oneOf([429, 503]);
      expect(inflight.count("limited")).to.equal(before);
    });

    it("forgets entries after the function's timeout + sync extra + grace, so a lost result cannot block it", async () => {
      for (let i = inflight.count("limited"); i < 2; i++) {
        expect((await invoke(true, "limited")).status).to.equal(202);
      }
      expect((await invoke(true, "limited")).status).to.equal(429);
      clock += record.timeoutMs + 1000 + 5000;
      expect(inflight.count("limited")).to.equal(0);
      expect((await invoke(true, "limited")).status).to.equal(202);
    });
  });

  it("/metrics needs the API key", async () => {
    expect((await fetch(`${base}/metrics`)).status).to.equal(401);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.include("faas_invocations_total");
  });

  it("400 for a zip whose entries escape the code folder or that lacks the handler's module", async () => {
    const AdmZip = (await import("adm-zip")).default;
    const deploy = (zip: InstanceType<typeof AdmZip>, handler = "index.handler") =>
      fetch(`${base}/api/functions/z`, {
        method: "PUT",
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify({ zip: zip.toBuffer().toString("base64"), handler }),
      });
    const escaping = new AdmZip();
    escaping.addFile("index.js", Buffer.from("exports.handler = () => 1;"));
    escaping.addFile("evil.js", Buffer.from("x"));
    const evil = escaping.getEntry("evil.js");
    if (evil === null) throw new Error("no entry");
    evil.entryName = "../evil.js";
    const res = await deploy(escaping);
    expect(res.status).to.equal(400);
    expect(await res.text()).to.include("'..' segment");

    const missing = new AdmZip();
    missing.addFile("other.js", Buffer.from("exports.handler = () => 1;"));
    const noModule = await deploy(missing);
    expect(noModule.status).to.equal(400);
    expect(await noModule.text()).to.include("'index.js' or 'index/index.js'");
    expect((await deploy(missing, "other.handler")).status).to.equal(201);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
}
