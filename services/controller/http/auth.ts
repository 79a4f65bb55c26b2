/** The API key (for callers) and the worker secret (for heartbeats), compared in constant time. */
import { timingSafeEqual } from "node:crypto";
import { RequestHandler } from "express";
import { UnauthorizedError } from "../errors";

export function bearerAuth(apiKey: string): RequestHandler {
  return (req, _res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer (.+)$/i.exec(header);
    if (match?.[1] === undefined || !secretMatches(match[1], apiKey)) {
      throw new UnauthorizedError("missing or wrong API key: send 'Authorization: Bearer <key>'");
    }
    next();
  };
}

export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
