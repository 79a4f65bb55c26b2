import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseHandler } from "../../contracts";
import { EnvSealer } from "../../services/common/env-seal";
import { CgroupTree } from "../../services/worker/sandbox/cgroups";
import {
  encodeFrame,
  FrameError,
  FrameReader,
  parseSandboxMessage,
} from "../../services/worker/sandbox/runtime/protocol";
import { deniedSyscalls, seccompFilter } from "../../services/worker/sandbox/seccomp";
import { prepareSandbox, SandboxUnavailableError } from "../../services/worker/sandbox/settings";
import { UidPool } from "../../services/worker/sandbox/uid-pool";

describe("sandbox pieces", () => {
  describe("the frame channel", () => {
    it("reassembles frames split anywhere and several in one chunk", () => {
      const reader = new FrameReader(1024);
      const bytes = Buffer.concat([encodeFrame({ type: "ready" }), encodeFrame({ a: 1 })]);
      const out = [
        ...reader.push(bytes.subarray(0, 3)),
        ...reader.push(bytes.subarray(3, 11)),
        ...reader.push(bytes.subarray(11)),
      ];
      expect(out).to.deep.equal([{ type: "ready" }, { a: 1 }]);
    });

    it("refuses a frame over the limit before buffering it, and bad JSON", () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(1 << 30);
      expect(() => new FrameReader(1024).push(header)).to.throw(FrameError, /over the limit/);
      const bad = Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from("{x")]);
      expect(() => new FrameReader(1024).push(bad)).to.throw(FrameError, /not valid JSON/);
    });

    it("takes only the protocol's messages from a sandbox", () => {
      expect(parseSandboxMessage({ type: "result", invocationId: "i", ok: true, value: "1" })).to.deep.equal({
        type: "result",
        invocationId: "i",
        ok: true,
        value: "1",
      });
      for (const junk of [
        null,
        1,
        "ready",
        { type: "result", invocationId: "i", ok: true, value: 1 },
        { type: "result", ok: false },
        { type: "x" },
      ])
        expect(parseSandboxMessage(junk), JSON.stringify(junk)).to.equal(undefined);
    });
  });

  it("a handler is a module path inside the code", () => {
    expect(parseHandler("src/app.main")).to.deep.equal({ module: "src/app", exportName: "main" });
    expect(parseHandler("index.min.handler")).to.deep.equal({ module: "index.min", exportName: "handler" });
    for (const bad of ["/etc/x.h", "../x.h", "a/../b.h", "a/./b.h", ".env.h", "a//b.h", "index", "a\\b.h"])
      expect(() => parseHandler(bad), bad).to.throw();
  });

  it("hands out each sandbox uid once until it is given back", () => {
    const pool = new UidPool(100_000, 3);
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(new Set(taken).size).to.equal(3);
    expect(() => pool.take()).to.throw(/in use/);
    pool.give(taken[1] ?? 0);
    expect(pool.take()).to.equal(taken[1]);
  });

  it("a sealed env opens only with its key, invocation, function and version", () => {
    const sealer = new EnvSealer("k".repeat(32));
    const context = { invocationId: "00000000-0000-4000-8000-000000000001", functionName: "f", version: 2 };
    const sealed = sealer.seal({ TOKEN: "secret" }, context);
    expect(Buffer.from(sealed, "base64").toString("latin1")).to.not.include("secret");
    expect(sealer.open(sealed, context)).to.deep.equal({ TOKEN: "secret" });
    expect(() => sealer.open(sealed, { ...context, version: 3 })).to.throw(/does not open/);
    expect(() => new EnvSealer("x".repeat(32)).open(sealed, context)).to.throw(/does not open/);
  });

  describe("the seccomp filter", () => {
    /** Runs the classic-BPF subset the filter uses over one system call. */
    function run(program: Buffer, arch: number, nr: number): number {
      for (let pc = 0, acc = 0; pc * 8 < program.length; pc++) {
        const code = program.readUInt16LE(pc * 8);
        const [jt, jf, k] = [
          program.readUInt8(pc * 8 + 2),
          program.readUInt8(pc * 8 + 3),
          program.readUInt32LE(pc * 8 + 4),
        ];
        if (code === 0x20) acc = k === 4 ? arch : nr;
        else if (code === 0x15) pc += acc === k ? jt : jf;
        else if (code === 0x35) pc += acc >= k ? jt : jf;
        else if (code === 0x06) return k;
        else throw new Error(`unexpected opcode ${code}`);
      }
      throw new Error("fell off the program");
    }

    for (const [arch, audit, keyctl, read] of [
      ["x64", 0xc000003e, 250, 0],
      ["arm64", 0xc00000b7, 219, 63],
    ] as const) {
      it(`${arch}: denies the listed calls with EPERM, allows the rest, kills a foreign architecture`, () => {
        const program = seccompFilter(arch);
        if (program === undefined) throw new Error("no filter");
        expect(run(program, audit, keyctl)).to.equal(0x00050001);
        expect(run(program, audit, 425), "io_uring_setup").to.equal(0x00050001);
        expect(run(program, audit, read), "read").to.equal(0x7fff0000);
        expect(run(program, 0x40000003, read), "another architecture").to.equal(0x80000000);
        expect(deniedSyscalls(arch)).to.include.members(["keyctl", "bpf", "ptrace", "mount", "unshare"]);
      });
    }

    it("x64: denies the x32 ABI's numbers", () => {
      const program = seccompFilter("x64");
      if (program === undefined) throw new Error("no filter");
      expect(run(program, 0xc000003e, 0x40000000 + 1)).to.equal(0x00050001);
    });
  });

  describe("a worker that cannot build sandboxes", () => {
    const options = {
      cgroups: "off" as const,
      uidBase: 100_000,
      uidCount: 10,
      insecureUser: "nobody",
      tmpMb: 16,
      cpus: 1,
      maxPids: 64,
      name: "faas-worker-unit",
      slots: 1,
    };
    let runtimeCopy: string;
    beforeEach(() => {
      runtimeCopy = mkdtempSync(path.join(os.tmpdir(), "faas-runtime-unit-"));
    });
    afterEach(() => rmSync(runtimeCopy, { recursive: true, force: true }));

    it("refuses, naming the weak mode, when bubblewrap fails", () => {
      expect(() =>
        prepareSandbox({ ...options, mechanism: "bwrap", bwrapPath: "/bin/false", runtimeCopy }),
      ).to.throw(SandboxUnavailableError, /bubblewrap failed.*FAAS_SANDBOX=insecure-process/s);
    });

    it("runs plain processes only when the operator names that mode, and says so", () => {
      const settings = prepareSandbox({
        ...options,
        mechanism: "insecure-process",
        bwrapPath: "/bin/false",
        runtimeCopy,
      });
      expect(settings.guarantees).to.include({
        mechanism: "insecure-process",
        network: "host",
        uidPerSandbox: false,
      });
      expect(settings.guarantees.notes.join(" ")).to.match(/insecure-process/);
    });
  });

  describe("cgroup folders", () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(os.tmpdir(), "faas-cgroup-unit-"));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    /** A fake /proc/self and cgroup mounts under `root`; `mountRoot` is what a container's mount shows. */
    function fakeProc(ownPath: string, mountRoot: string): string {
      const proc = path.join(root, "proc");
      mkdirSync(proc);
      const controllers = ["memory", "cpu", "pids", "freezer"];
      writeFileSync(
        path.join(proc, "cgroup"),
        controllers.map((c, i) => `${i + 1}:${c}:${ownPath}`).join("\n"),
      );
      const lines = controllers.map((c, i) => {
        const point = path.join(root, "fs", c);
        mkdirSync(point, { recursive: true });
        return `${30 + i} 20 0:${40 + i} ${mountRoot} ${point} rw,relatime shared:${i} - cgroup cgroup rw,${c}`;
      });
      writeFileSync(path.join(proc, "mountinfo"), lines.join("\n"));
      return proc;
    }

    it("creates each sandbox below the worker's own cgroup and writes its limits", () => {
      const proc = fakeProc("/system.slice/faas-worker.service", "/");
      const tree = CgroupTree.open("faas-worker-1", proc);
      if (!(tree instanceof CgroupTree)) throw new Error(tree.unavailable);
      tree.create("sb-1", { memoryBytes: 128 * 1024 * 1024, cpus: 0.5, cpuShares: 1024, maxPids: 64 });
      const dir = (c: string) =>
        path.join(root, "fs", c, "system.slice/faas-worker.service/faas-worker-1/sb-1");
      expect(readFileSync(path.join(dir("memory"), "memory.limit_in_bytes"), "utf8")).to.equal(
        String(128 * 1024 * 1024),
      );
      expect(readFileSync(path.join(dir("cpu"), "cpu.cfs_quota_us"), "utf8")).to.equal("50000");
      expect(readFileSync(path.join(dir("pids"), "pids.max"), "utf8")).to.equal("64");
    });

    it("in a container, where the mount shows only the container's own subtree", () => {
      const proc = fakeProc("/docker/abc", "/docker/abc");
      const tree = CgroupTree.open("faas-worker-1", proc);
      if (!(tree instanceof CgroupTree)) throw new Error(tree.unavailable);
      tree.create("sb-1", { memoryBytes: 1, cpus: 1, cpuShares: 1024, maxPids: 64 });
      expect(
        readFileSync(
          path.join(root, "fs", "memory", "faas-worker-1", "sb-1", "memory.limit_in_bytes"),
          "utf8",
        ),
      ).to.equal("1");
    });

    it("says why when there is no cgroup v1 hierarchy", () => {
      const proc = path.join(root, "proc");
      mkdirSync(proc);
      writeFileSync(path.join(proc, "cgroup"), "0::/user.slice\n");
      writeFileSync(path.join(proc, "mountinfo"), "30 20 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
      const tree = CgroupTree.open("faas-worker-1", proc);
      expect(tree)
        .to.have.property("unavailable")
        .that.matches(/cgroup v2 is not supported/);
    });
  });
});
