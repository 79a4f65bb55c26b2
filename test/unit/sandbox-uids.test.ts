import { ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import { SandboxUidRanges, UidRangeExhaustedError } from "../../emulator/sandbox-uids";

// Far from the ranges a local cloud running beside the tests holds (100000 and up).
const BASE = 900_000;
const options = { base: BASE, size: 1000, ranges: 4 };

/** Another process (another local cloud) holding `count` ranges until it is killed. */
async function holder(count: number): Promise<{ child: ChildProcess; held: number[] }> {
  const module = path.resolve(__dirname, "..", "..", "emulator", "sandbox-uids.js");
  const script = `
    const { SandboxUidRanges } = require(${JSON.stringify(module)});
    const ranges = new SandboxUidRanges(${JSON.stringify(options)});
    (async () => {
      const held = [];
      for (let i = 0; i < ${count}; i++) held.push(await ranges.take());
      process.stdout.write(JSON.stringify(held) + "\\n");
      setInterval(() => {}, 1000);
    })();`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const held = await new Promise<number[]>((resolve, reject) => {
    child.stdout.once("data", (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as number[]));
    child.once("exit", (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return { child, held };
}

const refusal = (r: SandboxUidRanges) =>
  r.take().then(
    () => undefined,
    (err: unknown) => err as Error,
  );

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("SandboxUidRanges", () => {
  const made: SandboxUidRanges[] = [];
  const ranges = () => {
    const r = new SandboxUidRanges(options);
    made.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(made.splice(0).map((r) => r.releaseAll()));
  });

  it("never gives two holders the same range, in one process or taken at once", async () => {
    const a = ranges();
    const b = ranges();
    const taken = await Promise.all([a.take(), b.take(), a.take(), b.take()]);
    expect([...taken].sort()).to.deep.equal([BASE, BASE + 1000, BASE + 2000, BASE + 3000]);
    const refused = await refusal(a);
    expect(refused).to.be.instanceOf(UidRangeExhaustedError);
    expect(refused?.message).to.match(/all 4 sandbox uid ranges of 1000 from 900000 are held/);
  });

  it("skips the ranges another process holds, and takes them once it is gone, even killed", async () => {
    const other = await holder(2);
    try {
      expect(other.held).to.deep.equal([BASE, BASE + 1000]);
      const mine = ranges();
      expect(await mine.take()).to.equal(BASE + 2000);
      expect(await mine.take()).to.equal(BASE + 3000);
      expect(await refusal(mine)).to.be.instanceOf(UidRangeExhaustedError);
      await kill(other.child);
      expect(await mine.take()).to.equal(BASE);
      expect(await mine.take()).to.equal(BASE + 1000);
    } finally {
      if (other.child.exitCode === null && other.child.signalCode === null) await kill(other.child);
    }
  });

  it("takes a range given back only after the others", async () => {
    const r = ranges();
    const first = await r.take();
    await r.release(first);
    expect(await r.take()).to.equal(BASE + 1000);
    expect(r.holding).to.deep.equal([BASE + 1000]);
    await r.release(BASE + 1000);
    // Past the end, the search wraps around to the ranges given back.
    expect(await r.take()).to.equal(BASE + 2000);
    expect(await r.take()).to.equal(BASE + 3000);
    expect(await r.take()).to.equal(BASE);
  });
});
