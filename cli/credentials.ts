/**
 * The dev environment's API key and worker secret: taken from FAAS_API_KEY / FAAS_WORKER_SECRET when
 * given, otherwise generated once and kept (mode 0600) where the CLI finds them. Never logged.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { CliConfig } from "./config";

const Credentials = z.object({ apiKey: z.string().min(16), workerSecret: z.string().min(16) });
export type Credentials = z.infer<typeof Credentials>;

export function loadOrCreateCredentials(config: CliConfig): Credentials {
  let stored: Credentials | undefined;
  try {
    stored = Credentials.parse(JSON.parse(readFileSync(config.credentialsFile, "utf8")));
  } catch {
    stored = undefined;
  }
  const credentials = {
    apiKey: config.apiKey ?? stored?.apiKey ?? `faas_${randomBytes(24).toString("base64url")}`,
    workerSecret: config.workerSecret ?? stored?.workerSecret ?? randomBytes(32).toString("base64url"),
  };
  if (stored?.apiKey !== credentials.apiKey || stored.workerSecret !== credentials.workerSecret) {
    mkdirSync(path.dirname(config.credentialsFile), { recursive: true, mode: 0o700 });
    writeFileSync(config.credentialsFile, JSON.stringify(credentials), { mode: 0o600 });
  }
  return credentials;
}
