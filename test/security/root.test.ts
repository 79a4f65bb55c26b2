import { startTestEnvironment } from "../fixtures/environment";
import { securitySuite } from "./suite";

/** Workers as root, as on the AMI: a host uid and cgroups per sandbox. */
securitySuite("process runtime, workers as root", {
  hostProcesses: true,
  expectCgroups: true,
  start: () =>
    startTestEnvironment({
      workers: 2,
      workerSlots: 4,
      workerEnv: { FAAS_POLL_WAIT_S: "1", FAAS_MAX_UNPACKED_CODE_BYTES: String(4 * 1024 * 1024) },
    }),
});
