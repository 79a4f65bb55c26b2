import { expect } from "chai";
import { Watcher } from "../../emulator/chaos/watcher";
import { notYet } from "../../emulator/wait";

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));

describe("chaos watcher: probes kept with their times", () => {
  it("records each answer with when it was sent and when it came back, held or not", async () => {
    let calls = 0;
    const watcher = new Watcher(
      "a probe",
      () => Promise.resolve(++calls % 2 === 0 ? calls : notYet(`odd ${calls}`)),
      {
        intervalMs: 10,
      },
    ).start();
    const held = await watcher.until((o) => o.ok, 2000);
    await watcher.stop();
    expect(held).to.include({ ok: true, value: 2 });
    const [first] = watcher.observations;
    expect(first).to.include({ ok: false, reason: "odd 1" });
    for (const o of watcher.observations) expect(o.at).to.be.at.least(o.sentAt);
  });

  it("keeps probing past a probe that hangs when more than one may be in flight, and drops it when stopped", async () => {
    let calls = 0;
    const watcher = new Watcher(
      "a probe",
      (signal) => (++calls === 1 ? never(signal) : Promise.resolve(calls)),
      {
        intervalMs: 10,
        maxInFlight: 2,
      },
    ).start();
    expect(await watcher.until((o) => o.ok, 2000)).to.include({ ok: true });
    await watcher.stop();
    expect(
      watcher.observations.every((o) => o.ok),
      "the hung probe's cancellation is not an answer",
    ).to.equal(true);
  });

  it("with one probe in flight, sends the next only after the answer", async () => {
    let open = 0;
    let most = 0;
    const watcher = new Watcher(
      "a probe",
      async () => {
        most = Math.max(most, ++open);
        await new Promise((r) => setTimeout(r, 30));
        open--;
        return true;
      },
      { intervalMs: 5 },
    ).start();
    await watcher.untilAll((all) => all.length >= 3, 2000);
    await watcher.stop();
    expect(most).to.equal(1);
  });
});
