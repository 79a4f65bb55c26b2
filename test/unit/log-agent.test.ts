import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import {
  AGENT_TEMPLATE,
  parseAgentConfig,
  renderAgentConfig,
  timestampParser,
} from "../../emulator/log-agent/agent-config";
import { LogBatcher, PUT_LIMITS, TRUNCATED_SUFFIX, truncateEvent } from "../../emulator/log-agent/batcher";
import { FileTail } from "../../emulator/log-agent/file-tail";

describe("log agent: batches as PutLogEvents takes them", () => {
  it("cuts at 10 000 events per call", () => {
    const b = new LogBatcher(5000);
    for (let i = 0; i < 25_000; i++) b.add(`line ${i}`, 1000, (i + 1) * 10, 0);
    const sizes = [b.take(0), b.take(0), b.take(0, true), b.take(0, true)].map((x) => x?.events.length);
    expect(sizes).to.deep.equal([10_000, 10_000, 5000, undefined]);
  });

  it("cuts before 1 MiB per call, counting 26 bytes per event", () => {
    const b = new LogBatcher(5000);
    const line = "x".repeat(100_000);
    for (let i = 0; i < 25; i++) b.add(line, 1000, (i + 1) * 100_001, 0);
    const batches = [];
    for (let x = b.take(0, true); x; x = b.take(0, true)) batches.push(x);
    for (const x of batches) expect(x.bytes).to.be.at.most(PUT_LIMITS.maxBatchBytes);
    expect(batches.map((x) => x.events.length)).to.deep.equal([10, 10, 5]);
    expect(batches[0]!.bytes).to.equal(10 * 100_026);
  });

  it("holds a batch until force_flush_interval after its first line, then hands it out with its end offset", () => {
    const b = new LogBatcher(5000);
    b.add("a", 1000, 2, 10_000);
    b.add("b", 1000, 4, 12_000);
    expect(b.take(14_999)).to.equal(undefined);
    const batch = b.take(15_000);
    expect(batch?.events.map((e) => e.message)).to.deep.equal(["a", "b"]);
    expect(batch?.endOffset).to.equal(4);
    expect(b.pending).to.equal(0);
  });

  it("truncates an event over 256 KiB with the agent's suffix, on a character boundary; skips empty lines", () => {
    const b = new LogBatcher(5000);
    const huge = "é".repeat(200_000); // 400 000 bytes
    b.add(huge, 1000, 400_001, 0);
    b.add("", 1000, 400_002, 0);
    const batch = b.take(0, true)!;
    expect(batch.events).to.have.length(1);
    const message = batch.events[0]!.message;
    expect(message.endsWith(TRUNCATED_SUFFIX)).to.equal(true);
    expect(Buffer.byteLength(message)).to.be.at.most(
      PUT_LIMITS.maxEventBytes - PUT_LIMITS.eventOverheadBytes,
    );
    expect(Buffer.byteLength(message)).to.be.at.least(
      PUT_LIMITS.maxEventBytes - PUT_LIMITS.eventOverheadBytes - 16,
    );
    expect(message).not.to.include("\uFFFD");
    expect(batch.endOffset, "the empty line's offset is covered").to.equal(400_002);
    expect(truncateEvent("short", 100)).to.equal("short");
  });

  it("sends a batch in time order (a line's own time may be older than the line before) and cuts at 24 h", () => {
    const b = new LogBatcher(5000);
    b.add("late", 2000, 1, 0);
    b.add("early", 1000, 2, 0);
    b.add("next day", 1000 + 25 * 3600_000, 3, 0);
    expect(b.take(0, true)?.events.map((e) => e.message)).to.deep.equal(["early", "late"]);
    expect(b.take(0, true)?.events.map((e) => e.message)).to.deep.equal(["next day"]);
  });

  it("puts a failed batch back in front", () => {
    const b = new LogBatcher(0);
    b.add("a", 1, 2, 0);
    const first = b.take(0)!;
    b.add("b", 1, 4, 0);
    b.putBack(first);
    expect(b.take(0)?.events[0]?.message).to.equal("a");
    expect(b.take(0)?.events[0]?.message).to.equal("b");
  });
});

describe("log agent: following the file by offset", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "faas-tail-"));
    file = path.join(dir, "controller.log");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("waits for a file that does not exist yet, then reads complete lines with the offset past each", () => {
    const tail = new FileTail(file);
    expect(tail.read()).to.deep.equal([]);
    writeFileSync(file, "one\ntwo\n");
    expect(tail.read()).to.deep.equal([
      { text: "one", endOffset: 4 },
      { text: "two", endOffset: 8 },
    ]);
    expect(tail.read()).to.deep.equal([]);
    tail.close();
  });

  it("holds a last line without its newline until it comes; `drain` hands it over as it is", () => {
    writeFileSync(file, "one\ntw");
    const tail = new FileTail(file);
    expect(tail.read().map((l) => l.text)).to.deep.equal(["one"]);
    expect(tail.position.offset, "the held part is not past the recorded offset").to.equal(4);
    appendFileSync(file, "o\nthr");
    expect(tail.read()).to.deep.equal([{ text: "two", endOffset: 8 }]);
    expect(tail.drain()).to.deep.equal([{ text: "thr", endOffset: 11 }]);
    tail.close();
  });

  it("resumes at a recorded offset in the same file, and from 0 in another file (a different inode)", () => {
    writeFileSync(file, "one\ntwo\nthree\n");
    const first = new FileTail(file);
    first.read();
    const ino = first.position.ino;
    first.close();
    const resumed = new FileTail(file, { offset: 8, ino });
    expect(resumed.read().map((l) => l.text)).to.deep.equal(["three"]);
    resumed.close();
    const other = new FileTail(file, { offset: 8, ino: (ino ?? 0) + 1 });
    expect(other.read().map((l) => l.text)).to.deep.equal(["one", "two", "three"]);
    other.close();
  });

  it("a file truncated in place (logrotate's copytruncate) is read again from 0", () => {
    writeFileSync(file, "one\ntwo\n");
    const tail = new FileTail(file);
    tail.read();
    truncateSync(file, 0);
    appendFileSync(file, "new\n");
    expect(tail.read()).to.deep.equal([{ text: "new", endOffset: 4 }]);
    tail.close();
  });

  it("a file renamed away and created again: the old one read to its end, then the new one from 0", () => {
    writeFileSync(file, "one\n");
    const tail = new FileTail(file);
    tail.read();
    appendFileSync(file, "last of old\n");
    renameSync(file, `${file}.1`);
    writeFileSync(file, "first of new\n");
    expect(tail.read().map((l) => l.text)).to.deep.equal(["last of old", "first of new"]);
    tail.close();
  });

  it("a line longer than the read chunk and than its cap keeps its head, and the next line is intact", () => {
    const big = "y".repeat(3 * 1024 * 1024);
    writeFileSync(file, `${big}\nafter\n`);
    const tail = new FileTail(file, { offset: 0 }, 300_000);
    const lines = tail.read();
    expect(lines.map((l) => l.text.length)).to.deep.equal([300_000, 5]);
    expect(lines[0]!.endOffset).to.equal(big.length + 1);
    tail.close();
  });
});

describe("log agent: the AMI's configuration", () => {
  it("renders deploy/packer/files/cloudwatch-agent.json.tpl as faas-boot.sh does and reads file, group and stream", () => {
    const config = parseAgentConfig(
      renderAgentConfig("/x/var/log/faas/controller.log", "/faas/controller", AGENT_TEMPLATE),
      {
        instanceId: "i-0abc",
        hostname: "h",
      },
    );
    expect(config.forceFlushIntervalMs).to.equal(5000);
    expect(config.files).to.have.length(1);
    expect(config.files[0]).to.include({
      filePath: "/x/var/log/faas/controller.log",
      logGroupName: "/faas/controller",
      logStreamName: "i-0abc",
    });
    // The template's timestamp_format finds pino's time, to the second.
    expect(config.files[0]!.timestampOf?.('{"level":30,"time":"2026-05-10T12:34:56.789Z"}')).to.equal(
      Date.UTC(2026, 4, 10, 12, 34, 56),
    );
    expect(config.files[0]!.timestampOf?.("no time here")).to.equal(undefined);
  });

  it("understands the strftime directives it claims, and refuses others", () => {
    expect(timestampParser("%b %d %H:%M:%S.%f %Y")("at Mar 07 01:02:03.5 2026")).to.equal(
      Date.UTC(2026, 2, 7, 1, 2, 3, 500),
    );
    expect(() => timestampParser("%s")).to.throw(/not supported/);
  });
});
