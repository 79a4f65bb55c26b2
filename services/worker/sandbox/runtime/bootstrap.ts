/**
 * The first code a function's runtime runs, inside its sandbox: load the handler, then serve
 * invocations one at a time over the worker's channel (fd 3, protocol.ts). It shares its process with
 * the function, so nothing here is a defence: the worker trusts none of what comes back, and this
 * file only turns the ordinary cases (a throw, a value JSON cannot hold, a result over the cap) into
 * clear errors. It lives in a read-only folder outside the code and imports only from that folder.
 */
import { Socket } from "node:net";
import path from "node:path";
import { encodeFrame, FrameReader, type InvokeMessage, type SandboxMessage } from "./protocol";

type Handler = (event: unknown, context: Record<string, unknown>) => unknown;

const [moduleName = "index", exportName = "handler", codeDir = "/var/task", maxResultArg = "6291456"] =
  process.argv.slice(2);
const maxResultBytes = Number(maxResultArg);

const channel = new Socket({ fd: 3, readable: true, writable: true });
const send = (message: SandboxMessage) => channel.write(encodeFrame(message));

function describe(err: unknown): { type: string; message: string } {
  if (err instanceof Error) return { type: err.name, message: err.message };
  if (typeof err === "string") return { type: "Error", message: err };
  try {
    const json = JSON.stringify(err) as string | undefined;
    return { type: "Error", message: json ?? String(err) };
  } catch {
    return { type: "Error", message: Object.prototype.toString.call(err) };
  }
}

let current: string | undefined;

function fail(kind: string, err: unknown): void {
  const error = describe(err);
  if (current !== undefined) {
    send({
      type: "result",
      invocationId: current,
      ok: false,
      error: { type: kind, message: `${error.type}: ${error.message}` },
    });
  }
  // The process is in an unknown state after an escaped error: end it; the worker starts a fresh one.
  setImmediate(() => process.exit(70));
}

process.on("uncaughtException", (err) => fail("UncaughtException", err));
process.on("unhandledRejection", (err) => fail("UnhandledRejection", err));
// The worker went away: nobody can receive a result any more.
channel.on("close", () => process.exit(0));
channel.on("error", () => process.exit(0));

/** JSON of the handler's value, or the reason it cannot be a result. */
function serialise(value: unknown): { ok: true; json: string } | { ok: false; message: string } {
  // JSON.stringify gives undefined for functions and symbols, whatever its declared type says.
  let json: unknown;
  try {
    json = JSON.stringify(value === undefined ? null : value);
  } catch (err) {
    return { ok: false, message: `the return value cannot be serialised to JSON: ${describe(err).message}` };
  }
  if (typeof json !== "string")
    return { ok: false, message: `the return value (a ${typeof value}) cannot be serialised to JSON` };
  if (Buffer.byteLength(json) > maxResultBytes)
    return {
      ok: false,
      message: `the result is ${Buffer.byteLength(json)} bytes, over the limit of ${maxResultBytes}`,
    };
  return { ok: true, json };
}

let handler: Handler | undefined;
try {
  const file = path.resolve(codeDir, moduleName);
  if (!file.startsWith(codeDir + path.sep))
    throw new Error(`handler module '${moduleName}' is outside the code`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the user's module by path is the point
  const mod = require(file) as Record<string, unknown>;
  const candidate = mod[exportName];
  if (typeof candidate !== "function") {
    throw new TypeError(`'${moduleName}' does not export a function named '${exportName}'`);
  }
  handler = candidate as Handler;
  send({ type: "ready" });
} catch (err) {
  send({ type: "init-error", error: describe(err) });
  setImmediate(() => process.exit(71));
}

const reader = new FrameReader(64 * 1024 * 1024);
channel.on("data", (chunk: Buffer) => {
  for (const raw of reader.push(chunk)) {
    if ((raw as { type?: unknown } | null)?.type === "invoke") invoke(raw as InvokeMessage);
  }
});

function invoke(message: InvokeMessage): void {
  const run = handler;
  if (run === undefined) return;
  current = message.invocationId;
  const context = {
    ...message.context,
    invocationId: message.invocationId,
    getRemainingTimeInMillis: () => Math.max(0, message.context.deadlineMs - Date.now()),
  };
  const id = message.invocationId;
  Promise.resolve()
    .then(() => run(message.event, context))
    .then(
      (value) => {
        const out = serialise(value);
        if (out.ok) send({ type: "result", invocationId: id, ok: true, value: out.json });
        else
          send({
            type: "result",
            invocationId: id,
            ok: false,
            error: { type: "InvalidResult", message: out.message },
          });
      },
      (err: unknown) => send({ type: "result", invocationId: id, ok: false, error: describe(err) }),
    )
    .catch((err: unknown) => send({ type: "result", invocationId: id, ok: false, error: describe(err) }))
    .finally(() => {
      current = undefined;
    });
}
