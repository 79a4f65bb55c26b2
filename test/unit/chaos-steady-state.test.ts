import { expect } from "chai";
import { heldThroughout, trailingSuccesses } from "../../emulator/chaos/steady-state";
import { Observation } from "../../emulator/chaos/watcher";

describe("the steady state read from probe records", () => {
  const ok = (sentAt: number, at: number): Observation<true> => ({ sentAt, at, ok: true, value: true });
  const bad = (sentAt: number, at: number): Observation<true> => ({ sentAt, at, ok: false, reason: "no" });

  it("is back at the first success after the last violation, by when probes were sent", () => {
    // A probe sent at 100 hangs and fails at 900: it says the system was not steady at 100, not at 900.
    const record = [
      ok(0, 10),
      ok(200, 210),
      bad(300, 320),
      ok(400, 430),
      ok(500, 520),
      bad(100, 900),
      ok(600, 610),
    ];
    expect(trailingSuccesses(record, 0).map((o) => o.at)).to.deep.equal([430, 520, 610]);
    expect(
      trailingSuccesses(record, 500).map((o) => o.at),
      "only answers after `from`",
    ).to.deep.equal([520, 610]);
    expect(trailingSuccesses([...record, bad(650, 700)], 0)).to.deep.equal([]);
  });

  it("held during a window only when every probe sent in it succeeded", () => {
    expect(heldThroughout([ok(0, 1), ok(10, 11)], 0, 10)).to.equal(true);
    expect(heldThroughout([ok(0, 1), bad(5, 6), ok(10, 11)], 0, 10)).to.equal(false);
    expect(heldThroughout([ok(0, 1)], 5, 10), "no probe, no evidence").to.equal(false);
  });
});
