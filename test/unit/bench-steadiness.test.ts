import { expect } from "chai";
import {
  cpuSteadiness,
  describe as describeSteadiness,
  formatMachineTime,
  machineTimeBetween,
  sampleMachineTime,
} from "../../bench/steadiness";

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

  it("splits the machine's time between two /proc/stat readings into busy, idle and stolen", () => {
    const stat = (user: number, idle: number, steal: number) => () =>
      `cpu  ${user} 0 ${user / 2} ${idle} 5 1 1 ${steal} 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1\n`;
    const before = sampleMachineTime(stat(100, 1000, 50));
    expect(before).to.deep.equal({ busy: 152, idle: 1005, steal: 50 });
    // 200 more ticks: 60 user + 30 system busy, 50 idle, 60 stolen.
    const after = sampleMachineTime(stat(160, 1050, 110));
    const shares = machineTimeBetween(before, after);
    expect(shares?.busy).to.be.closeTo(90 / 200, 1e-9);
    expect(shares?.idle).to.be.closeTo(50 / 200, 1e-9);
    expect(shares?.steal).to.be.closeTo(60 / 200, 1e-9);
    expect(formatMachineTime(shares)).to.equal("30 % stolen by the hypervisor, 45 % busy, 25 % idle");
  });

  it("says nothing of the machine's time where /proc/stat cannot be read", () => {
    const missing = sampleMachineTime(() => {
      throw new Error("ENOENT");
    });
    expect(missing).to.equal(undefined);
    expect(machineTimeBetween(missing, sampleMachineTime())).to.equal(undefined);
    expect(formatMachineTime(undefined)).to.match(/unknown/);
    // The real file, read twice: shares of a span that add up to 1.
    const real = machineTimeBetween(sampleMachineTime(), sampleMachineTime());
    if (real !== undefined) expect(real.busy + real.idle + real.steal).to.be.closeTo(1, 1e-9);
  });
});
