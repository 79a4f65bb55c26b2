import { spawnSync } from "node:child_process";
import path from "node:path";
import { delegateCgroups, undelegateCgroups } from "../../services/worker/sandbox/cgroups";
import { startTestEnvironment } from "../fixtures/environment";
import { securitySuite } from "./suite";

/**
 * Workers as `nobody`, as on a laptop without sudo: namespaces and a size-capped /tmp, one host uid,
 * and an RSS watchdog instead of cgroups — then again after `faas setup` delegated a cgroup subtree.
 */
const NOBODY = { uid: 65534, gid: 65534 };
const workerMain = path.resolve(__dirname, "../../services/worker/main.js");

/** Why workers cannot run as nobody here, if they cannot. */
function obstacle(): string | undefined {
  if (process.getuid?.() !== 0) return "the test must be root to start workers as another user";
  const probe = spawnSync("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "test",
    "-r",
    workerMain,
  ]);
  if (probe.status !== 0)
    return `nobody cannot read ${workerMain} (a folder above the checkout is not world-readable)`;
  return undefined;
}

const start = () =>
  startTestEnvironment({
    workers: 2,
    workerSlots: 4,
    workerUser: NOBODY,
    workerEnv: { FAAS_POLL_WAIT_S: "1", FAAS_MAX_UNPACKED_CODE_BYTES: String(4 * 1024 * 1024) },
  });

const why = obstacle();
if (why !== undefined) {
  describe("security: process runtime, workers as an ordinary user", () => {
    it("runs", function () {
      process.stdout.write(`      (skipped: ${why})\n`);
      this.skip();
    });
  });
} else {
  securitySuite("process runtime, workers as an ordinary user (nobody)", { hostProcesses: true, start });

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
}
