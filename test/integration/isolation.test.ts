import { expect } from "chai";
import { FUNCTIONS } from "../fixtures/functions";
import { startTestEnvironment, TestEnvironment } from "../fixtures/environment";

describe("function isolation: bad functions fail alone, the worker keeps serving", function () {
  this.timeout(60_000);
  let t: TestEnvironment;

  before(async () => {
    t = await startTestEnvironment({ workers: 1 });
    const deploys: [string, string, Record<string, unknown>][] = [
      ["echo", FUNCTIONS.echo, {}],
      ["throws", FUNCTIONS.throws, {}],
      ["sleeps", FUNCTIONS.sleeps, { timeoutMs: 500 }],
      ["spins", FUNCTIONS.spins, { timeoutMs: 300 }],
      ["allocates", FUNCTIONS.allocates, { memoryMb: 64, timeoutMs: 10_000 }],
      ["exits", FUNCTIONS.exits, {}],
      ["rejects", FUNCTIONS.rejects, {}],
      ["reads-env", FUNCTIONS.readsEnv, { env: { GREETING: "hi" } }],
    ];
    for (const [name, source, options] of deploys) {
      const res = await t.api.deploy(name, source, options);
      expect(res.status, res.text).to.equal(201);
    }
  });
  after(async () => {
    await t.env.stop();
  });

  /** After every misbehaving function, the same worker must still answer. */
  afterEach(async () => {
    const res = await t.api.invoke("echo", { still: "alive" });
    expect(res.status, `worker still serving: ${res.text}`).to.equal(200);
  });

  async function expectFailure(name: string, status: string, errorType: RegExp, event: unknown = {}) {
    const res = await t.api.invoke(name, event);
    expect(res.status, res.text).to.equal(500);
    expect(res.headers.get("x-function-error")).to.equal("Unhandled");
    const id = res.headers.get("x-invocation-id") ?? "";
    const view = await t.api.awaitInvocation(id);
    expect(view.status).to.equal(status);
    expect(view.error?.type).to.match(errorType);
    expect(view.attempts, "a function failure is not retried").to.equal(1);
    return { res, view };
  }

  it("a function that throws is a recorded failure with its message", async () => {
    const { res, view } = await expectFailure("throws", "failed", /TypeError/);
    expect(res.body).to.have.nested.property("error.code", "FunctionError");
    expect(view.error?.message).to.include("bad input from the function");
  });

  it("a function that sleeps past its timeout is killed and recorded as timed_out", async () => {
    const started = Date.now();
    const { res } = await expectFailure("sleeps", "timed_out", /TimeoutError/, { ms: 5000 });
    expect(res.body).to.have.nested.property("error.code", "FunctionTimedOut");
    expect(Date.now() - started).to.be.lessThan(3000);
  });

  it("a busy loop cannot outlive its timeout", async () => {
    await expectFailure("spins", "timed_out", /TimeoutError/);
  });

  it("a function that allocates past its memory cap is killed", async () => {
    const { view } = await expectFailure("allocates", "failed", /OutOfMemory/);
    expect(view.error?.message).to.include("64 MB");
  });

  it("process.exit fails the invocation, not the worker", async () => {
    const { view } = await expectFailure("exits", "failed", /ProcessExited/);
    expect(view.error?.message).to.include("exit code 3");
  });

  it("an unhandled rejection is a recorded failure", async () => {
    await expectFailure("rejects", "failed", /UnhandledRejection/);
  });

  it("sees its own environment variables and none of the worker's", async () => {
    const res = await t.api.invoke("reads-env");
    expect(res.status, res.text).to.equal(200);
    const env = (res.body as { env: Record<string, string> }).env;
    expect(env.GREETING).to.equal("hi");
    expect(env.FAAS_FUNCTION_NAME).to.equal("reads-env");
    for (const leaked of Object.keys(env)) {
      expect(leaked, `worker variable ${leaked} leaked`).not.to.match(
        /^AWS_|^FAAS_(REDIS|QUEUE|BUCKET|WORKER|CONTROLLER)|SECRET|NODE_CHANNEL/,
      );
    }
  });
});
