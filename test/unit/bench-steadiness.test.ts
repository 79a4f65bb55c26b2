import { expect } from "chai";
import { cpuSteadiness, describe as describeSteadiness } from "../../bench/steadiness";

describe("bench: the machine's steadiness", () => {
  it("counts the time spent in pieces at least twice as slow as full speed", () => {
    // 8 pieces at 1 ms and 2 at 4 ms: 8 ms of 16 was spent slowed.
    const s = describeSteadiness([1, 1, 1, 1, 4, 1, 1, 1, 1, 4]);
    expect(s.fast).to.equal(1);
    expect(s.p50).to.equal(1);
    expect(s.p99).to.equal(4);
    expect(s.slowedShare).to.equal(0.5);
  });

  it("takes full speed from the fastest tenth, so a machine slowed most of the time still shows it", () => {
    // 3 pieces at 1 ms and 7 at 5 ms: the median is the slow speed; 35 ms of 38 were slowed.
    const s = describeSteadiness([5, 1, 5, 5, 1, 5, 5, 1, 5, 5]);
    expect(s.p50).to.equal(5);
    expect(s.fast).to.equal(1);
    expect(s.slowedShare).to.be.closeTo(35 / 38, 1e-9);
  });

  it("counts nothing slowed on a steady machine, and nothing at all without samples", () => {
    expect(describeSteadiness([1, 1.2, 0.9, 1.1, 1.7]).slowedShare).to.equal(0);
    expect(describeSteadiness([]).slowedShare).to.equal(0);
  });

  it("times real pieces of work, and lets the event loop run between them", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const s = await cpuSteadiness(0.2);
      expect(s.samples.length).to.be.greaterThan(5);
      expect(s.p50).to.be.greaterThan(0);
      expect(s.p99).to.be.at.least(s.p50);
    } finally {
      clearInterval(timer);
    }
    expect(ticks, "timers fired while it measured").to.be.greaterThan(0);
  });
});
