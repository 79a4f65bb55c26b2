/**
 * What a SIGKILLed `faas dev` left is found by its environment's label and removed (emulator/leftovers.ts),
 * and nothing of another environment is touched. Real processes and folders; Docker, when no engine
 * answers, is skipped by the reaper itself.
 */
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { processesLabelled, reapEnvironment } from "../../emulator/leftovers";
import { waitFor } from "../../emulator/wait";

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

describe("leftovers of an environment whose emulator was SIGKILLed", () => {
  const envId = `faas-${randomBytes(4).toString("hex")}`;
  const otherId = `faas-${randomBytes(4).toString("hex")}`;
  const children: ChildProcess[] = [];
  const start = (env: Record<string, string>, cwd?: string) => {
    const child = spawn("sleep", ["60"], { env: { PATH: process.env.PATH, ...env }, cwd, stdio: "ignore" });
    children.push(child);
    return child;
  };
  after(() => {
    for (const child of children) if (alive(child)) child.kill("SIGKILL");
  });

  it("ends its labelled processes and the process working in its Redis folder, removes its folders, and spares another environment's", async () => {
    const labelled = start({ FAAS_ENV_ID: envId });
    const redisDir = mkdtempSync(path.join(os.tmpdir(), `faas-redis-${envId}-`));
    const inRedisDir = start({}, redisDir);
    const codeDir = path.join(os.tmpdir(), `faas-code-${envId}`);
    mkdirSync(path.join(codeDir, "i-1", "code"), { recursive: true });
    const other = start({ FAAS_ENV_ID: otherId });
    const prefixed = start({ FAAS_ENV_ID: `${envId}0` });
    const otherDir = path.join(os.tmpdir(), `faas-code-${otherId}`);
    mkdirSync(otherDir, { recursive: true });
    try {
      await waitFor("the children to start", () => children.every((c) => c.pid !== undefined), {
        timeoutMs: 5000,
      });
      expect(processesLabelled(envId).sort()).to.deep.equal([labelled.pid, inRedisDir.pid].sort());

      const removed = await reapEnvironment(envId);
      expect(removed.join("; "))
        .to.match(/2 processes/)
        .and.match(/2 folders/);
      await waitFor("the labelled processes to end", () => !alive(labelled) && !alive(inRedisDir), {
        timeoutMs: 5000,
      });
      expect(existsSync(codeDir)).to.equal(false);
      expect(existsSync(redisDir)).to.equal(false);
      expect(alive(other), "another environment's process").to.equal(true);
      expect(alive(prefixed), "a label that only starts with the id").to.equal(true);
      expect(existsSync(otherDir), "another environment's folder").to.equal(true);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
      rmSync(redisDir, { recursive: true, force: true });
      rmSync(codeDir, { recursive: true, force: true });
    }
  });

  it("refuses an id that is not one", async () => {
    const err = await reapEnvironment("faas-*").catch((e: unknown) => e);
    expect((err as Error).message).to.match(/not an environment id/);
  });

  describe("the lifeline reaper every environment arms", () => {
    const exited = (pid: number) => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    };
    /** An "emulator": a process that arms the reaper for `id`, prints its PID, and disarms it if told. */
    const emulator = (id: string, disarm: boolean) =>
      spawn(
        process.execPath,
        [
          "-e",
          `const r = require(${JSON.stringify(require.resolve("../../emulator/leftovers"))}).armEnvironmentReaper(process.argv[1]);
           console.log(r.pid);
           if (process.argv[2] === "disarm") { r.disarm(); } else { setInterval(() => undefined, 1000); }`,
          id,
          disarm ? "disarm" : "keep",
        ],
        { stdio: ["ignore", "pipe", "ignore"] },
      );
    const reaperPid = async (child: ChildProcess) => {
      const [line] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
      return Number(line.toString().trim());
    };

    it("removes what its environment left when the emulator is SIGKILLed", async () => {
      const id = `faas-${randomBytes(4).toString("hex")}`;
      const labelled = start({ FAAS_ENV_ID: id });
      const owner = emulator(id, false);
      children.push(owner);
      const reaper = await reaperPid(owner);
      expect(alive(labelled)).to.equal(true);
      owner.kill("SIGKILL");
      await waitFor("the labelled process to be ended by the reaper", () => !alive(labelled), {
        timeoutMs: 10_000,
      });
      await waitFor("the reaper to exit", () => exited(reaper), { timeoutMs: 5000 });
    });

    it("leaves everything alone once disarmed (the environment stopped itself)", async () => {
      const id = `faas-${randomBytes(4).toString("hex")}`;
      const labelled = start({ FAAS_ENV_ID: id });
      const owner = emulator(id, true);
      children.push(owner);
      const reaper = await reaperPid(owner);
      await waitFor("the reaper to exit", () => exited(reaper), { timeoutMs: 10_000 });
      expect(alive(labelled), "a process of the environment").to.equal(true);
    });
  });
});
