/**
 * The dev environment's API key and worker secret: taken from FAAS_API_KEY / FAAS_WORKER_SECRET when
 * given, otherwise generated once and kept (mode 0600) where the CLI finds them. Never logged.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { CliConfig } from "./config";
import { UserError } from "./errors";

/** The controller and the workers refuse to start with a shorter key or secret (their config.ts). */
export const MIN_SECRET_CHARS = 16;

const Credentials = z.object({
  apiKey: z.string().min(MIN_SECRET_CHARS),
  workerSecret: z.string().min(MIN_SECRET_CHARS),
});
export type Credentials = z.infer<typeof Credentials>;

/**
 * Fails, naming the variable, when FAAS_API_KEY or FAAS_WORKER_SECRET is set to a value the services
 * would refuse: checked before anything starts, so the mistake costs a second, not a crash loop of
 * controllers that the Auto Scaling group keeps replacing.
 */
export function checkGivenCredentials(config: Pick<CliConfig, "apiKey" | "workerSecret">): void {
  const problems = [
    ["FAAS_API_KEY", config.apiKey],
    ["FAAS_WORKER_SECRET", config.workerSecret],
  ]
    .filter(([, value]) => value !== undefined && value.length < MIN_SECRET_CHARS)
    .map(
      ([name, value]) =>
        `${name} is ${value?.length ?? 0} characters long; the services need at least ${MIN_SECRET_CHARS}`,
    );
  if (problems.length > 0)
    throw new UserError(
      `${problems.join("; ")}. Set a longer value, or unset it and \`faas dev up\` makes one and keeps it.`,
    );
}

export function loadOrCreateCredentials(config: CliConfig): Credentials {
  checkGivenCredentials(config);
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
