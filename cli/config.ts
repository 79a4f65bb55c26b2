/**
 * The CLI's settings. Endpoint and API key come from FAAS_ENDPOINT / FAAS_API_KEY when set, otherwise
 * from the running dev environment's state file under FAAS_HOME (default ~/.faas), which `faas dev up`
 * writes.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { ClientOptions, PlatformClient } from "../client/platform-client";
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
  /** The API's certificate fingerprint when it serves HTTPS (`faas dev up --tls`). */
  tlsFingerprint: z.string().optional(),
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
    /** The pinned SHA-256 of an https endpoint's self-signed certificate (`make deploy` prints it). */
    tlsFingerprint: env.FAAS_TLS_FINGERPRINT,
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

/** Where the API is, the key for it and the certificate to pin; a clear error when there is none. */
export interface Target {
  endpoint: string;
  apiKey: string;
  tlsFingerprint?: string;
}

/** The platform's client for a target, its certificate pinned when it has one. */
export function platformClient(target: Target, options: ClientOptions = {}): PlatformClient {
  return new PlatformClient(target.endpoint, target.apiKey, {
    ...options,
    ...(target.tlsFingerprint === undefined ? {} : { tlsFingerprint: target.tlsFingerprint }),
  });
}

export function resolveTarget(config: CliConfig): Target {
  const state = readDevState(config);
  const live = state !== undefined && pidAlive(state.pid) ? state : undefined;
  const endpoint = config.endpoint ?? live?.endpoint;
  const apiKey = config.apiKey ?? live?.apiKey;
  if (endpoint === undefined || apiKey === undefined) {
    throw new UserError(
      "no FaaS environment found: start one with `make dev` (or `faas dev up -d`), or set FAAS_ENDPOINT and FAAS_API_KEY",
    );
  }
  const tlsFingerprint =
    config.tlsFingerprint ?? (config.endpoint === undefined ? live?.tlsFingerprint : undefined);
  return {
    endpoint: endpoint.replace(/\/$/, ""),
    apiKey,
    ...(tlsFingerprint === undefined ? {} : { tlsFingerprint }),
  };
}
