import pino from "pino";

export type Logger = pino.Logger;

/** Structured JSON logs on stdout; secrets are redacted wherever they might appear. */
export function createLogger(component: string, level = "info", base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { component, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ["apiKey", "workerSecret", "*.apiKey", "*.workerSecret", "req.headers.authorization"],
      censor: "[redacted]",
    },
  });
}
