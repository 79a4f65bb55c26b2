import { expect } from "chai";
import { formatLine } from "../../emulator/log-format";

describe("log formatting for `make dev`", () => {
  it("turns a pino JSON line into time, level, message and extra fields", () => {
    const line = JSON.stringify({
      level: 40,
      time: "2026-11-26T01:02:03.456Z",
      msg: "worker removed",
      workerId: "w",
      silentMs: 31000,
      component: "controller",
    });
    expect(formatLine("controller i-1", line, 14)).to.equal(
      "controller i-1 | 01:02:03.456 WARN  worker removed  silentMs=31000",
    );
  });

  it("passes other lines through with the prefix", () => {
    expect(formatLine("redis", "Ready to accept connections", 6)).to.equal(
      "redis  | Ready to accept connections",
    );
  });
});
