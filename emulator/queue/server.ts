/**
 * The queue service's HTTP side: the AWS JSON 1.0 protocol as @aws-sdk/client-sqs speaks it. Every
 * call is `POST /` with `x-amz-target: AmazonSQS.<Operation>` and a JSON body; answers are JSON with
 * `content-type: application/x-amz-json-1.0`, errors as errors.ts describes. Requests are not
 * authenticated (SigV4 signatures are ignored), as with moto. `startQueueService` runs it in-process
 * (tests, the benchmark); main.ts runs it as a program.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { AddressInfo } from "node:net";
import { SqsError } from "./errors";
import { QueueClock, SYSTEM_QUEUE_CLOCK } from "./message-queue";
import { OPERATIONS } from "./operations";
import { QueueRegistry } from "./queue-registry";

export interface QueueServiceOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  accountId?: string;
  region?: string;
  clock?: QueueClock;
  purgeCooldownMs?: number;
  /** One structured line per request; nothing is logged without it. */
  log?: (fields: Record<string, unknown>) => void;
}

export interface QueueService extends AsyncDisposable {
  /** `http://host:port`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_SQS. */
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** The largest request body read: a full 1 MiB batch, with room for its JSON escaping. */
const MAX_REQUEST_BYTES = 8 * 1024 * 1024;
/** How much of an oversized body is read (and dropped) before the connection is cut. */
const DISCARD_LIMIT_BYTES = 4 * MAX_REQUEST_BYTES;
const JSON_CONTENT_TYPE = "application/x-amz-json-1.0";
const TARGET_PREFIX = "AmazonSQS.";

export async function startQueueService(options: QueueServiceOptions = {}): Promise<QueueService> {
  const host = options.host ?? "127.0.0.1";
  const registry = new QueueRegistry({
    accountId: options.accountId ?? "000000000000",
    region: options.region ?? "us-east-1",
    clock: options.clock ?? SYSTEM_QUEUE_CLOCK,
    purgeCooldownMs: options.purgeCooldownMs ?? 60_000,
  });
  const server = http.createServer((req, res) => void handle(registry, req, res, options.log));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      registry.closeAll();
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  return { endpoint: `http://${host}:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}

async function handle(
  registry: QueueRegistry,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  log: QueueServiceOptions["log"],
): Promise<void> {
  const started = Date.now();
  const requestId = randomUUID();
  const target = req.headers["x-amz-target"];
  const operation =
    typeof target === "string" && target.startsWith(TARGET_PREFIX)
      ? target.slice(TARGET_PREFIX.length)
      : undefined;
  const aborted = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  let status = 200;
  let answer: unknown;
  const headers: Record<string, string> = {
    "content-type": JSON_CONTENT_TYPE,
    "x-amzn-requestid": requestId,
  };
  try {
    const body = await readBody(req);
    if (req.method !== "POST" || operation === undefined) {
      throw new SqsError(
        "UnknownOperation",
        "Only the AWS JSON 1.0 protocol is served: POST / with x-amz-target: AmazonSQS.<Operation>.",
      );
    }
    const handler = Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
    if (handler === undefined)
      throw new SqsError("UnknownOperation", `Operation ${operation} is not an SQS operation.`);
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    } catch {
      throw new SqsError("SerializationException", "The request body is not valid JSON.");
    }
    const origin = `http://${hostOf(req)}`;
    answer = await handler(registry, input, { origin, signal: aborted.signal });
  } catch (err) {
    // Anything but an SqsError is this service's own fault: a 500, as SQS answers InternalError.
    const error =
      err instanceof SqsError
        ? err
        : new SqsError(
            "InternalError",
            `internal error: ${err instanceof Error ? err.message : String(err)}`,
          );
    const wire = error.toWire();
    status = wire.status;
    Object.assign(headers, wire.headers);
    answer = wire.body;
  }
  log?.({ operation, status, ms: Date.now() - started, requestId });
  if (res.destroyed) return;
  const text = JSON.stringify(answer ?? {});
  headers["content-length"] = String(Buffer.byteLength(text));
  res.writeHead(status, headers).end(text);
}

/**
 * The host the client reached the service by, for the queue URLs it is given: the Host header when it
 * is a plain host[:port], the socket's own address otherwise (a header is the client's to write).
 */
function hostOf(req: http.IncomingMessage): string {
  const header = req.headers.host;
  if (
    header !== undefined &&
    /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(header)
  ) {
    return header;
  }
  const address = req.socket.localAddress ?? "127.0.0.1";
  return `${address.includes(":") ? `[${address}]` : address}:${req.socket.localPort ?? 0}`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () =>
      new SqsError("InvalidParameterValue", `The request is larger than ${MAX_REQUEST_BYTES} bytes.`);
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // An oversized body is read to its end and dropped, so the client gets the error as an answer
      // rather than a reset connection; one that goes on far past the limit is cut off.
      if (size > DISCARD_LIMIT_BYTES) {
        reject(tooLarge());
        req.destroy();
      } else if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on("end", () => (size > MAX_REQUEST_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on("error", reject);
  });
}
