/**
 * Reading requests. Bodies are read raw, up to a limit per route, and parsed here so that every
 * malformed, oversized or mistyped request gets the same JSON error shape.
 */
import express, { Request, RequestHandler } from "express";
import { z } from "zod";
import { FUNCTION_NAME_PATTERN } from "../../../contracts";
import { InvalidRequestError } from "../errors";

/** The body as bytes, whatever its content type; over `limitBytes` it is a 413 (see error-response.ts). */
export function rawBody(limitBytes: number): RequestHandler {
  return express.raw({ type: () => true, limit: limitBytes });
}

export function functionNameParam(req: Request): string {
  const name = String(req.params.name ?? "");
  if (!FUNCTION_NAME_PATTERN.test(name)) {
    throw new InvalidRequestError(
      `'${name}' is not a valid function name (1-64 letters, digits, '-' or '_')`,
    );
  }
  return name;
}

export function parseJsonBody<T extends z.ZodType>(req: Request, schema: T): z.infer<T> {
  const text = rawText(req);
  if (text.trim() === "") throw new InvalidRequestError("the request body is empty; send JSON");
  const parsed = schema.safeParse(parseJson(text, "the request body"));
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((i) => `${i.path.join(".") || "body"}: ${issueText(i)}`)
      .join("; ");
    throw new InvalidRequestError(`invalid request body: ${details}`);
  }
  return parsed.data;
}

/** An empty body is the event `{}`, as when Lambda is invoked without a payload. */
export function parseEvent(req: Request): unknown {
  const text = rawText(req);
  return text.trim() === "" ? {} : parseJson(text, "the event");
}

function rawText(req: Request): string {
  return Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "";
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidRequestError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The issue's message, with the reasons nested in it (a record key's refinement says why it failed). */
function issueText(issue: z.core.$ZodIssue): string {
  const nested = "issues" in issue && Array.isArray(issue.issues) ? issue.issues : [];
  return nested.length === 0 ? issue.message : `${issue.message} (${nested.map(issueText).join("; ")})`;
}
