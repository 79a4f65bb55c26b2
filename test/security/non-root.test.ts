import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { delegateCgroups, undelegateCgroups } from "../../services/worker/sandbox/cgroups";
import { startTestEnvironment } from "../fixtures/environment";
import { securitySuite } from "./suite";

/**
 * Workers as `nobody`, as on a laptop without sudo: namespaces and a size-capped /tmp, one host uid,
 * and an RSS watchdog instead of cgroups — then again after `faas setup` delegated a cgroup subtree.
 */
const NOBODY = { uid: 65534, gid: 65534 };
const distRoot = path.resolve(__dirname, "../..");

const readableByNobody = (file: string) =>
  spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", file]).status === 0;

/**
 * The build as nobody can read it: this checkout, or — when a folder above it is closed to other
 * users (a CI clone in a private temporary folder) — a copy in a world-readable one, node_modules
 * hard-linked where the file system allows.
 */
function readableBuild(): { distRoot: string; cleanup: () => void } {
  if (readableByNobody(path.join(distRoot, "services/worker/main.js")))
    return { distRoot, cleanup: () => undefined };
  const copy = mkdtempSync(path.join(os.tmpdir(), "faas-nonroot-build-"));
  chmodSync(copy, 0o755);
  const repo = path.resolve(distRoot, "..");
  execFileSync("cp", ["-r", distRoot, path.join(copy, "dist")]);
  try {
    execFileSync("cp", ["-al", path.join(repo, "node_modules"), path.join(copy, "node_modules")]);
  } catch {
    execFileSync("cp", ["-r", path.join(repo, "node_modules"), path.join(copy, "node_modules")]);
  }
  return { distRoot: path.join(copy, "dist"), cleanup: () => rmSync(copy, { recursive: true, force: true }) };
}

if (process.getuid?.() !== 0) {
  describe("security: process runtime, workers as an ordinary user", () => {
    it("runs", function () {
      process.stdout.write("      (skipped: the test must be root to start workers as another user)\n");
      this.skip();
    });
  });
} else {
  describe("security: workers as an ordinary user", () => {
    let build: ReturnType<typeof readableBuild> | undefined;
    before(() => {
      build = readableBuild();
    });
    after(() => build?.cleanup());

    const start = () =>
      startTestEnvironment({
        workers: 2,
        workerSlots: 4,
        backend: { kind: "process", workerUser: NOBODY, distRoot: build?.distRoot },
        workerEnv: { FAAS_POLL_WAIT_S: "1", FAAS_MAX_UNPACKED_CODE_BYTES: String(4 * 1024 * 1024) },
      });

    securitySuite("process runtime, workers as nobody", { hostProcesses: true, start });

    describe("after `faas setup` delegated a cgroup subtree to that user", () => {
      before(() => {
        delegateCgroups(NOBODY.uid, NOBODY.gid);
      });
      after(async () => {
        await undelegateCgroups(NOBODY.uid);
      });
      securitySuite("process runtime, workers as nobody with delegated cgroups", {
        hostProcesses: true,
        start,
        expectCgroups: true,
      });
    });
  });
}
