import { expect } from "chai";
import { DeployFunctionRequest, Heartbeat, InvocationTask } from "../../contracts";

describe("contracts", () => {
  it("fills deploy defaults and demands exactly one of source or zip", () => {
    const ok = DeployFunctionRequest.parse({ source: "exports.handler=()=>1" });
    expect(ok).to.include({ handler: "index.handler", timeoutMs: 3000, memoryMb: 128 });
    expect(DeployFunctionRequest.safeParse({}).success).to.equal(false);
    expect(DeployFunctionRequest.safeParse({ source: "a", zip: "b" }).success).to.equal(false);
  });

  it("rejects unknown fields, bad handlers, limits out of range and bad env names", () => {
    expect(DeployFunctionRequest.safeParse({ source: "a", extra: 1 }).success).to.equal(false);
    expect(DeployFunctionRequest.safeParse({ source: "a", handler: "nodot" }).success).to.equal(false);
    expect(DeployFunctionRequest.safeParse({ source: "a", timeoutMs: 901_000 }).success).to.equal(false);
    expect(DeployFunctionRequest.safeParse({ source: "a", memoryMb: 32 }).success).to.equal(false);
    expect(DeployFunctionRequest.safeParse({ source: "a", env: { "1BAD": "x" } }).success).to.equal(false);
  });

  it("validates the SQS task and the heartbeat", () => {
    expect(InvocationTask.safeParse({ invocationId: "x" }).success).to.equal(false);
    expect(Heartbeat.safeParse({ workerId: "w", instanceId: "i", slotsTotal: -1 }).success).to.equal(false);
  });
});
