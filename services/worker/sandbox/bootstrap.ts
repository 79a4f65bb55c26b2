/**
 * The first code a sandbox process runs: load the handler, then serve invocations one at a time over
 * IPC. It is copied next to the function code and started as an unprivileged user with an empty
 * environment, so nothing here may import the worker's modules.
 */
import path from "node:path";
import type { InvokeMessage, SandboxMessage } from "./protocol";

type Handler = (event: unknown, context: Record<string, unknown>) => unknown;

const send = (message: SandboxMessage) => process.send?.(message);

function describe(err: unknown): { type: string; message: string } {
  if (err instanceof Error) return { type: err.name, message: err.message };
  if (typeof err === "string") return { type: "Error", message: err };
  // JSON.stringify gives undefined for undefined, functions and symbols.
  const json = JSON.stringify(err) as unknown;
  return { type: "Error", message: typeof json === "string" ? json : String(err) };
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
process.on("disconnect", () => process.exit(0));

const [handlerSpec = "index.handler", codeDir = process.cwd()] = process.argv.slice(2);
const dot = handlerSpec.lastIndexOf(".");
const file = handlerSpec.slice(0, dot);
const exportName = handlerSpec.slice(dot + 1);

let handler: Handler;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the user's module by path is the point
  const mod = require(path.resolve(codeDir, file)) as Record<string, unknown>;
  const candidate = mod[exportName];
  if (typeof candidate !== "function") {
    throw new TypeError(`'${file}' does not export a function named '${exportName}'`);
  }
  handler = candidate as Handler;
  send({ type: "ready" });
} catch (err) {
  send({ type: "init-error", error: describe(err) });
  setImmediate(() => process.exit(71));
}

process.on("message", (raw: unknown) => {
  if ((raw as { type?: unknown } | null)?.type !== "invoke") return;
  const message = raw as InvokeMessage;
  current = message.invocationId;
  const context = {
    ...message.context,
    invocationId: message.invocationId,
    getRemainingTimeInMillis: () => Math.max(0, message.context.deadlineMs - Date.now()),
  };
  Promise.resolve()
    .then(() => handler(message.event, context))
    .then(
      (value) => {
        const json = JSON.stringify(value === undefined ? null : value);
        send({ type: "result", invocationId: message.invocationId, ok: true, value: json });
      },
      (err: unknown) => {
        send({ type: "result", invocationId: message.invocationId, ok: false, error: describe(err) });
      },
    )
    .catch((err: unknown) => {
      send({ type: "result", invocationId: message.invocationId, ok: false, error: describe(err) });
    })
    .finally(() => {
      current = undefined;
    });
});
