import { expect } from "chai";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FunctionRecord } from "../../contracts";
import { RECORD } from "../fixtures/controller";
import { SandboxProcess } from "../../services/worker/sandbox/sandbox-process";
import { prepareSandbox, SandboxUnavailableError } from "../../services/worker/sandbox/settings";

/**
 * A function's stdout and stderr reach the worker on sockets of their own, beside the channel its
 * result comes on, and the kernel does not order the two: what the function printed before it
 * returned must still be in that invocation's logs, every time (it was missing in about one
 * invocation in five that logged).
 */
const fn: FunctionRecord = { ...RECORD, name: "printer", timeoutMs: 10_000 };

const SOURCE = `exports.handler = async (e) => {
  console.log("out " + e.n);
  process.stderr.write("err " + e.n + "\\n");
  return e.n;
};`;

for (const mechanism of ["insecure-process", "bwrap"] as const) {
  describe(`a function's output is in the logs of the invocation that wrote it (${mechanism})`, function () {
    this.timeout(60_000);
    const runtimeCopy = path.join(os.tmpdir(), `faas-output-runtime-${process.pid}-${mechanism}`);
    let dir: string;
    let settings: ReturnType<typeof prepareSandbox> | undefined;
    let proc: SandboxProcess | undefined;
    const dirs: string[] = [];

    before(function () {
      dir = codeFolder(SOURCE);
      try {
        settings = prepareSandbox({
          mechanism,
          cgroups: "off",
          uidBase: 192_000,
          uidCount: 4,
          insecureUser: "nobody",
          tmpMb: 16,
          cpus: 1,
          maxPids: 64,
          name: `faas-output-test-${process.pid}`,
          slots: 1,
          runtimeCopy,
        });
        proc = new SandboxProcess(fn, dir, settings);
      } catch (err) {
        if (!(err instanceof SandboxUnavailableError)) throw err;
        process.stdout.write(`      (skipped: ${err.message})\n`);
        this.skip();
      }
    });

    after(() => {
      proc?.kill();
      for (const d of [dir, ...dirs]) rmSync(d, { recursive: true, force: true });
      rmSync(runtimeCopy, { recursive: true, force: true });
    });

    it("holds the lines printed before the result, over 300 warm invocations", async () => {
      const missing: number[] = [];
      for (let n = 0; n < 300; n++) {
        const outcome = await proc!.run(`print-${n}`, { n }, 10_000);
        expect(outcome.status, JSON.stringify(outcome.error)).to.equal("succeeded");
        if (outcome.logs !== `out ${n}\nerr ${n}\n` && outcome.logs !== `err ${n}\nout ${n}\n`)
          missing.push(n);
        expect(await proc!.park()).to.equal(true);
      }
      expect(missing, "invocations whose logs lack what they printed").to.deep.equal([]);
    });

    it("says, when the function's process exits while loading, the last lines it printed", async () => {
      const crashing = codeFolder(
        `process.stderr.write("cannot start: FOO is not set\\n"); process.exit(3);`,
      );
      dirs.push(crashing);
      for (let i = 0; i < 20; i++) {
        const cold = new SandboxProcess(fn, crashing, settings!);
        const outcome = await cold.run(`crash-${i}`, {}, 10_000);
        cold.kill();
        expect(outcome.error?.type).to.equal("InitError");
        expect(outcome.error?.message).to.match(/exit code 3\): cannot start: FOO is not set$/);
      }
    });

    it("calls a module that runs out of memory while loading OutOfMemory, as it would an invocation", async () => {
      const hog = codeFolder(`const kept = []; for (;;) kept.push(new Array(1e6).fill(1));`);
      dirs.push(hog);
      const cold = new SandboxProcess({ ...fn, memoryMb: 64 }, hog, settings!);
      const outcome = await cold.run("hog", {}, 20_000);
      cold.kill();
      expect(outcome.error?.type, JSON.stringify(outcome.error)).to.equal("OutOfMemory");
    });
  });
}

function codeFolder(source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "faas-output-code-"));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, "index.js"), source, { mode: 0o444 });
  return dir;
}
