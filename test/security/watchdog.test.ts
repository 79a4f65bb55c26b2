import { expect } from "chai";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FunctionRecord } from "../../contracts";
import { SandboxProcess } from "../../services/worker/sandbox/sandbox-process";
import { prepareSandbox } from "../../services/worker/sandbox/settings";
import { ATTACKS } from "./attacks";

/**
 * Without cgroups (an ordinary user before `faas setup`, or FAAS_SANDBOX=insecure-process) the memory
 * limit is held by the worker's watchdog, which adds up the resident memory of the sandbox's process
 * tree from /proc: straight on the sandbox code, for both mechanisms.
 */
const fn = (memoryMb: number): FunctionRecord => ({
  name: "watched",
  version: 1,
  codeSha256: "0".repeat(64),
  codeKey: "code/watched.js",
  codeFormat: "source",
  codeSize: 0,
  handler: "index.handler",
  timeoutMs: 20_000,
  memoryMb,
  env: {},
  createdAt: "",
  updatedAt: "",
});

function codeFolder(source: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "faas-watchdog-code-"));
  chmodSync(dir, 0o755);
  writeFileSync(path.join(dir, "index.js"), source, { mode: 0o444 });
  return dir;
}

if (process.getuid?.() !== 0) {
  describe("security: the memory watchdog without cgroups", () => {
    it("runs", function () {
      process.stdout.write("      (skipped: the insecure mode runs functions as nobody, which needs root)\n");
      this.skip();
    });
  });
} else {
  for (const mechanism of ["insecure-process", "bwrap"] as const) {
    describe(`security: the memory watchdog without cgroups (${mechanism})`, function () {
      this.timeout(60_000);
      const dirs: string[] = [];
      const settings = (maxPids = 64) =>
        prepareSandbox({
          mechanism,
          cgroups: "off",
          uidBase: 191_000,
          uidCount: 10,
          insecureUser: "nobody",
          tmpMb: 64,
          cpus: 1,
          maxPids,
          name: `faas-watchdog-test-${process.pid}`,
          slots: 1,
          runtimeCopy: path.join(os.tmpdir(), `faas-watchdog-runtime-${process.pid}-${mechanism}`),
        });
      const procs: SandboxProcess[] = [];
      /** A sandbox running `source` as a 128 MB function; ended after the test. */
      const sandbox = (source: string, maxPids?: number) => {
        const dir = codeFolder(source);
        dirs.push(dir);
        const proc = new SandboxProcess(fn(128), dir, settings(maxPids));
        procs.push(proc);
        return proc;
      };
      afterEach(() => {
        for (const p of procs.splice(0)) p.kill();
      });
      after(() => {
        for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
        rmSync(path.join(os.tmpdir(), `faas-watchdog-runtime-${process.pid}-${mechanism}`), {
          recursive: true,
          force: true,
        });
      });

      it("ends a function whose child holds 1 GB in 128 MB, as out of memory", async () => {
        expect(settings().cgroups, "this test is about the watchdog").to.equal(undefined);
        const proc = sandbox(ATTACKS.childHogsMemory);
        const outcome = await proc.run("hog", {}, 20_000);
        expect(outcome.status).to.equal("failed");
        expect(outcome.error?.type, JSON.stringify(outcome.error)).to.equal("OutOfMemory");
        expect(proc.alive).to.equal(false);
      });

      it("ends a function that runs more processes than the cap, rather than walk them all", async () => {
        const proc = sandbox(
          `
          const { spawn } = require("child_process");
          exports.handler = async () => {
            let started = 0, failed = 0;
            for (let i = 0; i < 40; i++) {
              try {
                const c = spawn("sleep", ["30"], { stdio: "ignore" });
                c.on("error", () => failed++);
                started++;
              } catch { failed++; }
            }
            await new Promise((r) => setTimeout(r, 3000));
            return { started, failed };
          };`,
          16,
        );
        const outcome = await proc.run("forks", {}, 20_000);
        const value = outcome.value as { failed?: number } | undefined;
        if (mechanism === "bwrap" && outcome.status === "succeeded") {
          // As root, bwrap's sandbox has a uid of its own and prlimit's RLIMIT_NPROC caps it first.
          expect(value?.failed, "spawns past the kernel's cap failed").to.be.greaterThan(0);
        } else {
          expect(outcome.status).to.equal("failed");
          expect(outcome.error?.type, JSON.stringify(outcome.error)).to.equal("TooManyProcesses");
          expect(proc.alive).to.equal(false);
        }
      });

      it("leaves a function within its memory alone, warm between invocations", async () => {
        const proc = sandbox(`exports.handler = async (e) => ({ n: e.n, rss: process.memoryUsage().rss });`);
        for (let n = 0; n < 3; n++) {
          const outcome = await proc.run(`ok-${n}`, { n }, 10_000);
          expect(outcome.status, JSON.stringify(outcome.error)).to.equal("succeeded");
          expect(await proc.park()).to.equal(true);
          // Long enough for the watchdog to look several times at a parked runtime.
          await new Promise((r) => setTimeout(r, 300));
          expect(proc.alive).to.equal(true);
        }
      });
    });
  }
}
