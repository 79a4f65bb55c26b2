import { startTestEnvironment } from "../fixtures/environment";
import { securitySuite } from "../security/suite";
import { dockerOrSkipReason } from "./fixtures";

/**
 * The security suite on the Docker runtime: the worker container plays the EC2 instance (root, its
 * own cgroup subtree, the capabilities docs/docker.md lists) and runs each function in bubblewrap
 * inside it, as the AMI does.
 */
describe("docker: the security suite", function () {
  before(async function () {
    const reason = await dockerOrSkipReason();
    if (reason !== undefined) {
      process.stdout.write(`      (skipped: ${reason})\n`);
      this.skip();
    }
  });

  securitySuite("Docker runtime, workers as root in their containers", {
    hostProcesses: false,
    expectCgroups: true,
    start: () =>
      startTestEnvironment({
        backend: { kind: "docker" },
        workers: 2,
        workerSlots: 4,
        workerEnv: { FAAS_POLL_WAIT_S: "1", FAAS_MAX_UNPACKED_CODE_BYTES: String(4 * 1024 * 1024) },
      }),
  });
});
