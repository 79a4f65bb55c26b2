import { EnvSealer } from "../../services/common/env-seal";
import { expect } from "chai";
import { AddressInfo } from "node:net";
import { Server } from "node:http";
import { DeployFunctionRequest, FunctionRecord, InvocationResult, InvocationTask } from "../../contracts";
import { createLogger } from "../../services/common/logger";
import { FunctionStore } from "../../services/controller/function-store";
import { createApp } from "../../services/controller/http/app";
import { createMetrics } from "../../services/controller/metrics";
import { TaskQueue } from "../../services/controller/task-queue";
import { WorkerRegistry } from "../../services/controller/worker-registry";

/** The HTTP layer against fakes of its interfaces: the failure modes that are hard to cause for real. */
const record: FunctionRecord = {
  name: "f",
  version: 1,
  codeSha256: "0".repeat(64),
  codeKey: "code/x.js",
  codeFormat: "source",
  codeSize: 1,
  handler: "index.handler",
  timeoutMs: 1000,
  memoryMb: 128,
  env: {},
  createdAt: "",
  updatedAt: "",
};

class FakeFunctions implements FunctionStore {
  put(_name: string, _req: DeployFunctionRequest) {
    return Promise.resolve({ record, changed: true });
  }
  get(name: string) {
    return Promise.resolve(name === "f" ? record : undefined);
  }
  list() {
    return Promise.resolve([record]);
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

describe("controller HTTP layer (fakes at the interfaces)", () => {
  let server: Server;
  let base: string;
  const queue = new FakeQueue();
  const forgotten: string[] = [];
  const key = "k".repeat(20);

  before(async () => {
    const log = createLogger("test", "silent");
    const app = createApp({
      instanceId: () => "i-test",
      apiKey: key,
      workerSecret: "s".repeat(20),
      envSealer: new EnvSealer("e".repeat(32)),
      functions: new FakeFunctions(),
      queue,
      invocations: {
        recordQueued: () => Promise.resolve(),
        forget: (id: string) => {
          forgotten.push(id);
          return Promise.resolve();
        },
        view: () => Promise.resolve(undefined),
      },
      results: {
        wait: (id: string): Promise<InvocationResult | undefined> =>
          Promise.resolve({
            invocationId: id,
            function: "f",
            status: "succeeded",
            result: { ok: true },
            workerId: "w",
            durationMs: 1,
            coldStart: false,
            logs: "",
            finishedAt: 0,
          }),
        cancel: () => undefined,
        size: 0,
      },
      registry: new WorkerRegistry({ heartbeatIntervalMs: 1000, deadAfterMs: 3000 }, log),
      metrics: createMetrics(),
      log,
      limits: { maxEventBytes: 1024, maxCodeBytes: 4096, maxQueueDepth: 100, maxSyncWaiters: 10 },
      syncWaitExtraMs: 1000,
      heartbeatIntervalMs: 1000,
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
  });

  const invoke = (async = false) =>
    fetch(`${base}/api/functions/f/invoke`, {
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
});
