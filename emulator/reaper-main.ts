/**
 * An environment's lifeline reaper, as testcontainers' Ryuk is a test session's: a small detached
 * process that the emulator starts with each environment (armEnvironmentReaper, leftovers.ts), which
 * only watches its stdin. The emulator writes "stopped" once it has stopped the environment; when the
 * pipe closes without that line — the emulator was SIGKILLed, crashed, or exited without stopping it —
 * the reaper removes what carries the environment's label (reapEnvironment: moto, Redis, paused
 * services, containers, folders, dead sandboxes' cgroups) and exits.
 *
 *   node dist/emulator/reaper-main.js <envId>
 */
import { createInterface } from "node:readline";

const envId = process.argv[2] ?? "";
let stopped = false;

// Ctrl-C in a terminal reaches the emulator's process group, not this one (it is detached); these
// only make sure a stray signal cannot end it before the emulator does.
process.on("SIGINT", () => undefined);
process.on("SIGHUP", () => undefined);

createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (line.trim() === "stopped") stopped = true;
  })
  .on("close", () => {
    if (stopped) process.exit(0);
    void import("./leftovers")
      .then(({ reapEnvironment }) => reapEnvironment(envId))
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
