/**
 * The three SQS calls on every invocation's path — SendMessageBatch (the controller), ReceiveMessage
 * and DeleteMessageBatch (the workers) — made as the SDK makes them, without the SDK's per-call
 * middleware. On a 2-vCPU machine the SDK spends 0.9–1.1 ms of CPU on each of these calls against
 * 0.3 ms here (docs/performance.md, "The queue calls without the SDK's middleware"), and a synchronous
 * invocation makes three of them.
 *
 * What is hard stays the SDK's: the SigV4 signer is @smithy/signature-v4, and the credentials (the
 * instance role, refreshed before it expires), the region and the hash come from the SQSClient the
 * service already has. What is ours is the envelope, written to match the SDK's requests
 * (test/unit/sqs-wire.test.ts checks a request against the SDK's for the same call, and its signature
 * against what arrived): AWS JSON 1.0 to the queue URL's host, as the SDK does by default; errors read from `__type` and `x-amzn-query-error`;
 * network errors, throttling and 5xx retried as the client's `maxAttempts` allows, after a jittered
 * pause; the MD5 digests SQS returns checked against the bodies. Every other SQS call (queue
 * attributes, visibility changes, the dead letters) still goes through the SDK.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type {
  DeleteMessageBatchRequest,
  DeleteMessageBatchResult,
  ReceiveMessageRequest,
  ReceiveMessageResult,
  SendMessageBatchRequest,
  SendMessageBatchResult,
} from "@aws-sdk/client-sqs";
import { SignatureV4 } from "@smithy/signature-v4";
import { createHash } from "node:crypto";
import { Agent, errors as undiciErrors, request } from "undici";

const CONTENT_TYPE = "application/x-amz-json-1.0";

/** Connecting may take this long; an answer (a long poll included, at most 20 s) this long. */
const CONNECT_TIMEOUT_MS = 2000;
const ANSWER_TIMEOUT_MS = 30_000;
/** The SDK's standard retry: a pause of up to 100 ms × 2^attempt, at random. */
const RETRY_BASE_MS = 100;

/** An error SQS answered with; `name` is its type (`QueueDoesNotExist`, `RequestThrottled`, …). */
export class SqsCallError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode: number,
    /** The query-protocol code SQS also sends (`AWS.SimpleQueueService.NonExistentQueue`), if any. */
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = type;
  }

  get retryable(): boolean {
    return this.statusCode >= 500 || this.statusCode === 429 || THROTTLING.has(this.type);
  }
}

const THROTTLING = new Set([
  "ThrottlingException",
  "Throttling",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "KmsThrottled",
]);

/** A digest SQS returned that does not match the body sent or received (the SDK throws here too). */
export class SqsChecksumError extends Error {
  override name = "SqsChecksumError";
}

export interface SqsHotCalls {
  sendMessageBatch(input: SendMessageBatchRequest): Promise<SendMessageBatchResult>;
  receiveMessage(input: ReceiveMessageRequest, signal?: AbortSignal): Promise<ReceiveMessageResult>;
  deleteMessageBatch(input: DeleteMessageBatchRequest): Promise<DeleteMessageBatchResult>;
}

export interface SqsWireOptions {
  /** The pause before a retry (tests); at random up to 100 ms × 2^attempt by default. */
  retryDelayMs?: (attempt: number) => number;
}

export class SqsWire implements SqsHotCalls {
  private readonly signer: SignatureV4;
  private readonly dispatcher: Agent;
  private readonly retryDelayMs: (attempt: number) => number;

  constructor(
    private readonly sqs: SQSClient,
    options: SqsWireOptions = {},
  ) {
    const config = sqs.config;
    this.signer = new SignatureV4({
      service: "sqs",
      region: config.region,
      credentials: config.credentials,
      sha256: config.sha256,
      applyChecksum: true,
    });
    this.dispatcher = new Agent({
      connect: { timeout: CONNECT_TIMEOUT_MS },
      headersTimeout: ANSWER_TIMEOUT_MS,
      bodyTimeout: ANSWER_TIMEOUT_MS,
      keepAliveTimeout: 60_000,
    });
    this.retryDelayMs = options.retryDelayMs ?? ((attempt) => Math.random() * RETRY_BASE_MS * 2 ** attempt);
  }

  async sendMessageBatch(input: SendMessageBatchRequest): Promise<SendMessageBatchResult> {
    const out = await this.call<SendMessageBatchResult>("SendMessageBatch", input);
    const sent = new Map((input.Entries ?? []).map((e) => [e.Id, e.MessageBody ?? ""]));
    for (const ok of out.Successful ?? []) {
      const body = sent.get(ok.Id);
      if (body !== undefined && ok.MD5OfMessageBody !== md5(body)) {
        throw new SqsChecksumError(`the queue's digest of entry ${ok.Id} does not match its body`);
      }
    }
    return out;
  }

  async receiveMessage(input: ReceiveMessageRequest, signal?: AbortSignal): Promise<ReceiveMessageResult> {
    const out = await this.call<ReceiveMessageResult>("ReceiveMessage", input, signal);
    for (const m of out.Messages ?? []) {
      if (m.Body !== undefined && m.MD5OfBody !== md5(m.Body)) {
        throw new SqsChecksumError(`the digest of message ${m.MessageId ?? "?"} does not match its body`);
      }
    }
    return out;
  }

  deleteMessageBatch(input: DeleteMessageBatchRequest): Promise<DeleteMessageBatchResult> {
    return this.call<DeleteMessageBatchResult>("DeleteMessageBatch", input);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** One operation, retried as the SQSClient's `maxAttempts` allows. */
  private async call<T>(operation: string, input: { QueueUrl?: string }, signal?: AbortSignal): Promise<T> {
    const url = new URL(input.QueueUrl ?? "");
    const body = JSON.stringify(input);
    const maxAttempts = await this.sqs.config.maxAttempts();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt<T>(url, operation, body, signal);
      } catch (err) {
        if (attempt >= maxAttempts || signal?.aborted === true || !retryable(err)) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs(attempt)));
      }
    }
  }

  private async attempt<T>(url: URL, operation: string, body: string, signal?: AbortSignal): Promise<T> {
    const signed = await this.signer.sign(
      {
        method: "POST",
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === "" ? undefined : Number(url.port),
        path: "/",
        query: {},
        headers: {
          host: url.host,
          "content-type": CONTENT_TYPE,
          "content-length": String(Buffer.byteLength(body)),
          "x-amz-target": `AmazonSQS.${operation}`,
          "x-amzn-query-mode": "true",
        },
        body,
      },
      { signingDate: new Date() },
    );
    const answer = await request(`${url.origin}/`, {
      method: "POST",
      headers: signed.headers,
      body,
      signal,
      dispatcher: this.dispatcher,
    });
    const text = await answer.body.text();
    if (answer.statusCode === 200) return JSON.parse(text) as T;
    throw callError(answer.statusCode, text, answer.headers["x-amzn-query-error"]);
  }
}

function callError(status: number, text: string, queryError: string | string[] | undefined): SqsCallError {
  let type = `Http${status}`;
  let message = text.slice(0, 200);
  try {
    const parsed = JSON.parse(text) as { __type?: unknown; message?: unknown; Message?: unknown };
    if (typeof parsed.__type === "string") type = parsed.__type.slice(parsed.__type.lastIndexOf("#") + 1);
    const said = parsed.message ?? parsed.Message;
    if (typeof said === "string") message = said;
  } catch {
    // Not JSON (a proxy's page, a cut connection's remains): the status and the text say it.
  }
  const code = typeof queryError === "string" ? queryError.split(";")[0] : undefined;
  return new SqsCallError(type, message, status, code);
}

/** What the SDK retries besides errors SQS answered: the connection failing or timing out. */
function retryable(err: unknown): boolean {
  if (err instanceof SqsCallError) return err.retryable;
  if (err instanceof undiciErrors.UndiciError) return !(err instanceof undiciErrors.RequestAbortedError);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && ["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT"].includes(code);
}

function md5(text: string): string {
  return createHash("md5").update(text).digest("hex");
}
