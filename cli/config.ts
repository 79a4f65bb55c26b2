/**
 * The CLI's settings. Endpoint and API key come from FAAS_ENDPOINT / FAAS_API_KEY when set, otherwise
 * from the running dev environment's state file under FAAS_HOME (default ~/.faas), which `faas dev up`
 * writes.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { UserError } from "./errors";

export const DevState = z.object({
  envId: z.string(),
  pid: z.number(),
  endpoint: z.string(),
  adminUrl: z.string(),
  adminToken: z.string(),
  apiKey: z.string(),
  ready: z.boolean(),
  logFile: z.string().optional(),
  startedAt: z.number(),
});
export type DevState = z.infer<typeof DevState>;

export function loadCliConfig(env: Record<string, string | undefined> = process.env) {
  const home = env.FAAS_HOME ?? path.join(os.homedir(), ".faas");
  return {
    home,
    stateFile: path.join(home, "dev", "state.json"),
    credentialsFile: path.join(home, "credentials.json"),
    logFile: path.join(home, "dev", "dev.log"),
    endpoint: env.FAAS_ENDPOINT,
    apiKey: env.FAAS_API_KEY,
    workerSecret: env.FAAS_WORKER_SECRET,
  };
}
export type CliConfig = ReturnType<typeof loadCliConfig>;

export function readDevState(config: CliConfig): DevState | undefined {
  try {
    return DevState.parse(JSON.parse(readFileSync(config.stateFile, "utf8")));
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Where the API is and the key for it, or a clear error saying how to get them. */
export function resolveTarget(config: CliConfig): { endpoint: string; apiKey: string } {
  const state = readDevState(config);
  const live = state !== undefined && pidAlive(state.pid) ? state : undefined;
  const endpoint = config.endpoint ?? live?.endpoint;
  const apiKey = config.apiKey ?? live?.apiKey;
  if (endpoint === undefined || apiKey === undefined) {
    throw new UserError(
      "no FaaS environment found: start one with `make dev` (or `faas dev up -d`), or set FAAS_ENDPOINT and FAAS_API_KEY",
    );
  }
  return { endpoint: endpoint.replace(/\/$/, ""), apiKey };
}
