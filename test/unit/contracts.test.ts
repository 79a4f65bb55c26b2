import { randomUUID } from "node:crypto";
import { expect } from "chai";
import { z } from "zod";
import {
  DeployFunctionRequest,
  Heartbeat,
  IdempotencyKey,
  InvocationTask,
  MAX_IDEMPOTENCY_KEY_CHARS,
  TaskFunction,
} from "../../contracts";

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

  /** Each case breaks one field of a valid message, and the error must name that field and no other. */
  function rejectsEachBreak(
    schema: z.ZodType,
    valid: Record<string, unknown>,
    breaks: [field: string, value: unknown][],
  ): void {
    expect(schema.safeParse(valid).error, "the valid message").to.equal(undefined);
    for (const [field, value] of breaks) {
      const parsed = schema.safeParse({ ...valid, [field]: value });
      expect(parsed.success, `${field}: ${JSON.stringify(value)}`).to.equal(false);
      const fields = new Set((parsed.error?.issues ?? []).map((i) => String(i.path[0])));
      expect([...fields], `${field}: ${JSON.stringify(value)}`).to.deep.equal([field]);
    }
  }

  it("validates the SQS task: one broken field per case", () => {
    const fn = TaskFunction.parse({
      name: "echo",
      version: 1,
      codeSha256: "a".repeat(64),
      codeKey: `code/${"a".repeat(64)}.js`,
      codeFormat: "source",
      codeSize: 10,
      handler: "index.handler",
      timeoutMs: 3000,
      memoryMb: 128,
      maxConcurrency: 1,
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
    });
    const task = {
      invocationId: randomUUID(),
      function: fn,
      sealedEnv: "",
      event: { any: "value" },
      mode: "sync",
      enqueuedAt: 0,
    };
    rejectsEachBreak(InvocationTask, task, [
      ["invocationId", "x"],
      ["invocationId", undefined],
      ["function", { ...fn, version: 0 }],
      ["function", { ...fn, handler: "../x.handler" }],
      ["sealedEnv", 1],
      ["mode", "later"],
      ["enqueuedAt", "now"],
    ]);
  });

  it("validates the heartbeat: one broken field per case", () => {
    const heartbeat = {
      workerId: "w",
      instanceId: "i",
      slotsTotal: 1,
      slotsInUse: 0,
      coldStarts: 0,
      warmStarts: 0,
      startedAt: 0,
    };
    rejectsEachBreak(Heartbeat, heartbeat, [
      ["workerId", ""],
      ["workerId", "w".repeat(129)],
      ["instanceId", ""],
      ["slotsTotal", -1],
      ["slotsTotal", 1.5],
      ["slotsInUse", -1],
      ["coldStarts", -1],
      ["warmStarts", -1],
      ["startedAt", "0"],
    ]);
  });

  it("parses an Idempotency-Key: a bare or quoted string of bounded length, nothing else", () => {
    const uuid = randomUUID();
    expect(IdempotencyKey.parse(uuid)).to.equal(uuid);
    expect(IdempotencyKey.parse(`"${uuid}"`), "a Structured Field string is unquoted").to.equal(uuid);
    expect(IdempotencyKey.parse("order-42:retry_1/A+b=")).to.equal("order-42:retry_1/A+b=");
    expect(IdempotencyKey.parse("k".repeat(MAX_IDEMPOTENCY_KEY_CHARS))).to.have.length(
      MAX_IDEMPOTENCY_KEY_CHARS,
    );
    for (const bad of [
      "",
      '""',
      "k".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1),
      "two words",
      "a, b",
      'quo"te',
      "back\\slash",
      "caf\u00e9",
      "tab\there",
      '"unterminated',
    ]) {
      expect(IdempotencyKey.safeParse(bad).success, JSON.stringify(bad)).to.equal(false);
    }
  });
});
