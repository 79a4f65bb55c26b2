/**
 * The `Idempotency-Key` of an invoke request, parsed at the boundary into the claim the invocation
 * store takes (docs/idempotency.md). A key is scoped to the API key and the function: its claim's Redis
 * key is a hash of the three, so neither the API key nor the caller's key is stored as it came. The
 * request's fingerprint is a hash of its invocation type and its event's bytes: the same key with
 * another fingerprint is a different request (422).
 */
import { createHash } from "node:crypto";
import { Request } from "express";
import { HEADER, IdempotencyKey } from "../../contracts";
import { IdempotencyClaim } from "../common/invocation-store";
import { InvalidRequestError } from "./errors";

/** The hash of an API key that scopes its callers' keys; computed once per controller. */
export function apiKeyScope(apiKey: string): string {
  return sha256(`faas-api-key\0${apiKey}`);
}

/** The request's Idempotency-Key, or undefined when it has none; a malformed one is a 400. */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const raw = req.get(HEADER.idempotencyKey);
  if (raw === undefined) return undefined;
  const parsed = IdempotencyKey.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidRequestError(
      `malformed Idempotency-Key header: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
    );
  }
  return parsed.data;
}

export function idempotencyClaim(
  scope: string,
  functionName: string,
  key: string,
  mode: "sync" | "async",
  body: Buffer,
): IdempotencyClaim {
  // An empty (or blank) body is the event {} (request.ts), so both are one request.
  const blank = body.length === 0 || (body.length < 64 && body.toString("utf8").trim() === "");
  const event = blank ? Buffer.from("{}") : body;
  return {
    key: `faas:idem:${sha256(`${scope}\0${functionName}\0${key}`)}`,
    fingerprint: createHash("sha256").update(mode).update("\0").update(event).digest("base64url"),
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
