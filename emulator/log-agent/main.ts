/**
 * The emulated CloudWatch agent's process, one per instance (a sidecar: see sidecar.ts for the process
 * backend, emulator/backends/docker/containers.ts for containers). Started with
 *   FAAS_AGENT_CONFIG     the rendered cloudwatch-agent.json (as faas-boot.sh writes it)
 *   FAAS_AGENT_STATE_DIR  where it records its offsets
 *   FAAS_INSTANCE_ID      what `{instance_id}` in the stream name becomes
 *   FAAS_AGENT_PID_FILE   written once SIGTERM is handled (optional)
 * and the AWS SDK's own variables (AWS_ENDPOINT_URL, AWS_REGION, credentials). SIGTERM (the instance
 * shutting down) ships what is left and exits 0. FAAS_EXIT_WITH_PARENT=1: when the emulator's end of
 * stdin closes, the emulator is gone, and the agent exits at once, shipping nothing more — as an
 * instance that loses power.
 */
import { writeFileSync } from "node:fs";

// SIGTERM may come while the modules below (the AWS SDK) are still loading: an instance terminated
// right after it booted. Remember it, and stop as soon as the agent exists.
let stopRequested: string | undefined;
let stop: (signal: string) => void = (signal) => (stopRequested ??= signal);
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
// From here on a SIGTERM is handled: the sidecar waits for this file before it sends one.
if (process.env.FAAS_AGENT_PID_FILE) writeFileSync(process.env.FAAS_AGENT_PID_FILE, `${process.pid}\n`);
if (process.env.FAAS_EXIT_WITH_PARENT === "1") {
  const lost = () => process.exit(1);
  process.stdin.on("end", lost);
  process.stdin.on("error", lost);
  process.stdin.resume();
}

void import("./run-agent").then(({ runAgent }) => {
  stop = runAgent();
  if (stopRequested !== undefined) stop(stopRequested);
});
