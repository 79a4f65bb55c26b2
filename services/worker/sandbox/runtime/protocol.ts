/**
 * The channel between the worker and a function's runtime: length-prefixed JSON frames over one
 * socket (fd 3 inside the sandbox). Not Node's IPC channel: that one parses whatever the child writes
 * inside the worker's own event loop, so a child that sends garbage or an unserialisable value throws
 * in the worker. Here every frame is bounded in size and parsed in a try, and anything that is not a
 * well-formed message of the protocol fails that sandbox's invocation only.
 *
 * This folder is mounted read-only into every sandbox: it may import nothing outside itself.
 */

export interface InvokeMessage {
  type: "invoke";
  invocationId: string;
  event: unknown;
  context: { functionName: string; functionVersion: number; memoryLimitInMB: number; deadlineMs: number };
}

export interface ErrorInfo {
  type: string;
  message: string;
}

export type SandboxMessage =
  | { type: "ready" }
  | { type: "init-error"; error: ErrorInfo }
  | { type: "result"; invocationId: string; ok: true; value: string }
  | { type: "result"; invocationId: string; ok: false; error: ErrorInfo };

const HEADER_BYTES = 4;

export function encodeFrame(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message), "utf8");
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}

export class FrameError extends Error {
  override readonly name = "FrameError";
}

/** Splits a byte stream into frames; throws FrameError on a frame over `maxBytes` or bad JSON. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) return out;
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      if (all === undefined) return out;
      this.chunks = [all];
      const length = all.readUInt32BE(0);
      if (length > this.maxBytes)
        throw new FrameError(`a message of ${length} bytes is over the limit of ${this.maxBytes}`);
      if (all.length < HEADER_BYTES + length) return out;
      const body = all.subarray(HEADER_BYTES, HEADER_BYTES + length).toString("utf8");
      const rest = all.subarray(HEADER_BYTES + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      try {
        out.push(JSON.parse(body) as unknown);
      } catch {
        throw new FrameError("a message is not valid JSON");
      }
    }
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function errorInfo(v: unknown): ErrorInfo | undefined {
  if (!isRecord(v) || typeof v.type !== "string" || typeof v.message !== "string") return undefined;
  return { type: v.type.slice(0, 200), message: v.message.slice(0, 4000) };
}

/** The worker's parse of whatever a sandbox sent: a protocol message, or undefined. */
export function parseSandboxMessage(v: unknown): SandboxMessage | undefined {
  if (!isRecord(v)) return undefined;
  if (v.type === "ready") return { type: "ready" };
  if (v.type === "init-error") {
    const error = errorInfo(v.error);
    return error && { type: "init-error", error };
  }
  if (v.type === "result" && typeof v.invocationId === "string") {
    if (v.ok === true && typeof v.value === "string")
      return { type: "result", invocationId: v.invocationId, ok: true, value: v.value };
    const error = v.ok === false ? errorInfo(v.error) : undefined;
    return error && { type: "result", invocationId: v.invocationId, ok: false, error };
  }
  return undefined;
}
