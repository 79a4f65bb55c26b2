/** The agent process's body, loaded by main.ts once its signal handlers are in place. */
import { readFileSync } from "node:fs";
import os from "node:os";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { createLogger } from "../../services/common/logger";
import { parseAgentConfig } from "./agent-config";
import { LogAgent } from "./agent";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    process.stderr.write(`log agent: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

/** Starts the agent; answers the function that stops it (ships what is left, then exits). */
export function runAgent(): (signal: string) => void {
  const instanceId = required("FAAS_INSTANCE_ID");
  const log = createLogger("log-agent", "info", { instanceId });
  const config = parseAgentConfig(readFileSync(required("FAAS_AGENT_CONFIG"), "utf8"), {
    instanceId,
    hostname: os.hostname(),
  });
  const client = new CloudWatchLogsClient({ maxAttempts: 1 });
  const agent = new LogAgent({
    config,
    logs: client,
    stateDir: required("FAAS_AGENT_STATE_DIR"),
    onWarning: (message, detail) => log.warn(detail, message),
  });
  agent.start();
  log.info(
    { files: config.files.map((f) => `${f.filePath} → ${f.logGroupName}:${f.logStreamName}`) },
    "log agent started",
  );

  let stopping = false;
  return (signal: string) => {
    if (stopping) return;
    stopping = true;
    void agent.stop().then((stats) => {
      log.info({ signal, ...stats }, "log agent stopped");
      client.destroy();
      process.exit(0);
    });
  };
}
