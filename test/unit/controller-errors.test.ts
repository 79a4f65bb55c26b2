import { Server } from "node:http";
import { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { DynamoDBClient, DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import { ErrorBody, ErrorCode, InvocationTask } from "../../contracts";
import { EnvSealer } from "../../services/common/env-seal";
import { SqsCallError, SqsHotCalls } from "../../services/common/sqs-wire";
import { createLogger } from "../../services/common/logger";
import { AwsFunctionStore } from "../../services/controller/aws-function-store";
import {
  ConflictError,
  ControllerError,
  FunctionNotFoundError,
  InvalidRequestError,
  isNetworkError,
  NotFoundError,
  PayloadTooLargeError,
  QueueUnavailableError,
  StoreUnavailableError,
  SyncWaitTimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
} from "../../services/controller/errors";
import { FunctionStore } from "../../services/controller/function-store";
import { createApp } from "../../services/controller/http/app";
import { errorResponse, STATUS } from "../../services/controller/http/error-response";
import { InflightTracker } from "../../services/controller/inflight";
import { InvocationRecords } from "../../services/controller/invocation-records";
import { SqsTaskQueue } from "../../services/controller/sqs-task-queue";
import { fakeInvocations, TASK, usualAppDeps } from "../fixtures/controller";

/** Errors by type: each cause's class, the one table from code to status, and the adapters' translation. */
const log = createLogger("test", "silent");

/** Design.md §2, written out here rather than read from the code under test. */
const DOCUMENTED_STATUS: Record<ErrorCode, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  NotFound: 404,
  Conflict: 409,
  PayloadTooLarge: 413,
  TooManyRequests: 429,
  IdempotencyKeyReused: 422,
  FunctionError: 500,
  FunctionTimedOut: 500,
  InternalError: 500,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

const connectionRefused = () =>
  Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:4566"), { code: "ECONNREFUSED" });

describe("controller errors: one table from error to HTTP answer", () => {
  it("gives every code of the contract its documented status", () => {
    for (const code of ErrorCode.options) {
      expect(STATUS[code], code).to.equal(DOCUMENTED_STATUS[code]);
    }
    expect(Object.keys(STATUS).sort()).to.deep.equal([...ErrorCode.options].sort());
  });

  const causes: { error: ControllerError; code: ErrorCode; headers: Record<string, string> }[] = [
    { error: new InvalidRequestError("invocation ids are UUIDs"), code: "BadRequest", headers: {} },
    { error: new UnauthorizedError("missing or wrong API key"), code: "Unauthorized", headers: {} },
    { error: new NotFoundError("no such route"), code: "NotFound", headers: {} },
    { error: new FunctionNotFoundError("f"), code: "NotFound", headers: {} },
    { error: new ConflictError("a concurrent deploy"), code: "Conflict", headers: {} },
    { error: new PayloadTooLargeError(1024), code: "PayloadTooLarge", headers: {} },
    {
      error: new TooManyRequestsError("at capacity"),
      code: "TooManyRequests",
      headers: { "retry-after": "1" },
    },
    { error: new QueueUnavailableError("the queue is unreachable"), code: "ServiceUnavailable", headers: {} },
    { error: new StoreUnavailableError("result store unreachable"), code: "ServiceUnavailable", headers: {} },
  ];
  for (const { error, code, headers } of causes) {
    it(`${error.name} answers ${DOCUMENTED_STATUS[code]} ${code} with the contract's body`, () => {
      const answer = errorResponse(error);
      expect(answer.status).to.equal(DOCUMENTED_STATUS[code]);
      expect(answer.headers).to.deep.equal(headers);
      expect(ErrorBody.parse(answer.body)).to.deep.equal(answer.body);
      expect(answer.body).to.deep.equal({ error: { code, message: error.message, invocationId: undefined } });
      expect(JSON.stringify(answer.body)).not.to.include("invocationId");
      expect(answer.logged, "only the platform's own failures are logged").to.equal(answer.status >= 500);
    });
  }

  it("a synchronous wait that ran out is a 504 carrying the invocation id in the body and a header", () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const answer = errorResponse(new SyncWaitTimeoutError(id, 1500));
    expect(answer.status).to.equal(504);
    expect(answer.headers).to.deep.equal({ "x-invocation-id": id });
    expect(ErrorBody.parse(answer.body).error).to.deep.equal({
      code: "GatewayTimeout",
      message: `no result within 1500 ms; the invocation is still accepted: GET /api/invocations/${id}`,
      invocationId: id,
    });
    expect(answer.logged, "a slow function is not the platform failing").to.equal(false);
  });

  it("says which limit a body broke, and how to deploy a missing function", () => {
    expect(new PayloadTooLargeError(1024).message).to.equal(
      "the request body is larger than the limit of 1024 bytes",
    );
    expect(new FunctionNotFoundError("f").message).to.equal(
      "function 'f' does not exist; deploy it with PUT /api/functions/f",
    );
  });

  it("translates Express's own errors by their type and status properties", () => {
    const tooLarge = errorResponse(
      Object.assign(new Error("request entity too large"), {
        type: "entity.too.large",
        status: 413,
        limit: 64,
      }),
    );
    expect(tooLarge.status).to.equal(413);
    expect(tooLarge.body.error).to.include({
      code: "PayloadTooLarge",
      message: "the request body is larger than the limit of 64 bytes",
    });
    const undecodable = errorResponse(
      Object.assign(new Error("Failed to decode param '%E0%A4%A'"), { status: 400 }),
    );
    expect(undecodable.status).to.equal(400);
    expect(undecodable.body.error).to.include({
      code: "BadRequest",
      message: "Failed to decode param '%E0%A4%A'",
    });
  });

  it("never reads a message: an untyped error is a 500 whatever its text says", () => {
    for (const text of [
      "connect ECONNREFUSED 127.0.0.1:6379",
      "Stream isn't writeable and enableOfflineQueue options is false",
      "Connection is closed.",
      "ServiceUnavailable",
    ]) {
      const answer = errorResponse(new Error(text));
      expect(answer.status, text).to.equal(500);
      expect(answer.body).to.deep.equal({
        error: { code: "InternalError", message: "internal error", invocationId: undefined },
      });
      expect(answer.logged).to.equal(true);
    }
    expect(errorResponse("a string").status).to.equal(500);
    expect(errorResponse(null).status).to.equal(500);
  });
});

describe("isNetworkError: by code and name, not by text", () => {
  it("recognises socket error codes, the SDK's TimeoutError, and an AggregateError of them", () => {
    expect(isNetworkError(connectionRefused())).to.equal(true);
    for (const code of ["ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "EPIPE", "ENOTFOUND"]) {
      expect(isNetworkError(Object.assign(new Error("x"), { code })), code).to.equal(true);
    }
    expect(
      isNetworkError(Object.assign(new Error("Connection timed out"), { name: "TimeoutError" })),
    ).to.equal(true);
    expect(isNetworkError(new AggregateError([connectionRefused()]))).to.equal(true);
  });

  it("does not take an error for a network error because its message says so", () => {
    expect(isNetworkError(new Error("connect ECONNREFUSED 127.0.0.1:1"))).to.equal(false);
    expect(isNetworkError(Object.assign(new Error("x"), { code: "ENOENT" }))).to.equal(false);
    expect(isNetworkError(new AggregateError([new Error("ECONNREFUSED")]))).to.equal(false);
    expect(isNetworkError(undefined)).to.equal(false);
  });
});

const task = TASK;

/** The queue's calls: SendMessageBatch answers from `answer`; depth samples get no attributes. */
function fakeSqs(answer: () => Promise<unknown>): { sqs: SQSClient; wire: SqsHotCalls } {
  const unused = () => Promise.reject(new Error("not used by the controller"));
  return {
    sqs: { send: () => Promise.resolve({ Attributes: {} }) } as unknown as SQSClient,
    wire: {
      sendMessageBatch: answer as SqsHotCalls["sendMessageBatch"],
      receiveMessage: unused,
      deleteMessageBatch: unused,
    },
  };
}

async function sendError(
  { sqs, wire }: { sqs: SQSClient; wire: SqsHotCalls },
  sent: InvocationTask = task,
): Promise<unknown> {
  const queue = new SqsTaskQueue(sqs, wire, { queueUrl: "http://sqs.local/1/q", depthSampleMs: 60_000 }, log);
  try {
    await queue.send(sent);
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await queue.close();
  }
}

describe("the SQS queue adapter throws QueueUnavailableError", () => {
  it("for an error SQS answers, such as QueueDoesNotExist, keeping it as the cause", async () => {
    const sdkError = new SqsCallError(
      "QueueDoesNotExist",
      "The specified queue does not exist.",
      400,
      "AWS.SimpleQueueService.NonExistentQueue",
    );
    const err = await sendError(fakeSqs(() => Promise.reject(sdkError)));
    expect(err).to.be.instanceOf(QueueUnavailableError);
    const typed = err as QueueUnavailableError;
    expect(typed.code).to.equal("ServiceUnavailable");
    expect(typed.cause).to.equal(sdkError);
    expect(typed.message).to.equal(
      "the queue is unreachable: QueueDoesNotExist: The specified queue does not exist.",
    );
    expect(errorResponse(err).status).to.equal(503);
  });

  it("for a network error (ECONNREFUSED)", async () => {
    const refused = connectionRefused();
    const err = await sendError(fakeSqs(() => Promise.reject(refused)));
    expect(err).to.be.instanceOf(QueueUnavailableError);
    expect((err as QueueUnavailableError).cause).to.equal(refused);
  });

  it("for an entry SQS lists as failed, and for a task over the SQS message size", async () => {
    const failedEntry = await sendError(
      fakeSqs(() => Promise.resolve({ Failed: [{ Id: "0", Code: "InternalError", Message: "try again" }] })),
    );
    expect(failedEntry).to.be.instanceOf(QueueUnavailableError);
    expect((failedEntry as Error).message).to.equal("the queue refused the task: InternalError try again");

    const huge = await sendError(
      fakeSqs(() => Promise.resolve({})),
      { ...task, event: "x".repeat(300 * 1024) },
    );
    expect(huge).to.be.instanceOf(QueueUnavailableError);
    expect((huge as Error).message).to.include("256 KiB");
  });

  it("and resolves once SQS took the task", async () => {
    expect(await sendError(fakeSqs(() => Promise.resolve({ Successful: [{ Id: "0" }] })))).to.equal(
      undefined,
    );
  });
});

type Answer = { response: { statusCode: number; headers: Record<string, string>; body: Readable } };

/** An AWS client configuration whose HTTP handler answers from `answer` instead of the network. */
function awsConfig(
  answer: (request: { method: string; headers: Record<string, string> }) => Promise<Answer>,
) {
  const requestHandler = {
    handle: answer,
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
  } as unknown as DynamoDBClientConfig["requestHandler"];
  return {
    region: "us-east-1",
    credentials: { accessKeyId: "a", secretAccessKey: "b" },
    maxAttempts: 1,
    requestHandler,
  };
}

const reply = (statusCode: number, body: unknown = ""): Promise<Answer> =>
  Promise.resolve({
    response: {
      statusCode,
      headers: {},
      body: Readable.from([Buffer.from(typeof body === "string" ? body : JSON.stringify(body))]),
    },
  });
const dynamoError = (type: string, message: string) => ({
  __type: `com.amazonaws.dynamodb.v20120810#${type}`,
  message,
});

describe("the function store translates S3 and DynamoDB errors", () => {
  const deploy = { source: "x", handler: "index.handler", timeoutMs: 1000, memoryMb: 128, env: {} };

  it("a network error is a StoreUnavailableError, with the SDK's error as the cause", async () => {
    const refused = connectionRefused();
    const store = new AwsFunctionStore(
      new S3Client(awsConfig(() => Promise.reject(refused))),
      new DynamoDBClient(awsConfig(() => Promise.reject(refused))),
      "bucket",
      "table",
    );
    for (const call of [() => store.get("f"), () => store.list(), () => store.delete("f")]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).to.be.instanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).cause).to.equal(refused);
      expect((err as Error).message).to.equal(
        "a backing service is unreachable: Error: connect ECONNREFUSED 127.0.0.1:4566",
      );
    }
  });

  it("a 503 is a StoreUnavailableError, a lost conditional write a ConflictError, other faults pass as they are", async () => {
    const dynamo = (request: { headers: Record<string, string> }) => {
      const target = request.headers["x-amz-target"] ?? "";
      if (target.endsWith(".GetItem")) return reply(200, {});
      if (target.endsWith(".PutItem"))
        return reply(400, dynamoError("ConditionalCheckFailedException", "The conditional request failed"));
      if (target.endsWith(".Scan")) return reply(503, dynamoError("ServiceUnavailable", "try later"));
      return reply(400, dynamoError("ResourceNotFoundException", "no such table"));
    };
    const s3 = (request: { method: string }) => (request.method === "HEAD" ? reply(404) : reply(200));
    const store = new AwsFunctionStore(
      new S3Client(awsConfig(s3)),
      new DynamoDBClient(awsConfig(dynamo)),
      "b",
      "t",
    );

    const conflict = await store.put("f", deploy).catch((e: unknown) => e);
    expect(conflict).to.be.instanceOf(ConflictError);
    expect(errorResponse(conflict).status).to.equal(409);

    const unavailable = await store.list().catch((e: unknown) => e);
    expect(unavailable).to.be.instanceOf(StoreUnavailableError);
    expect(errorResponse(unavailable).status).to.equal(503);

    const fault = await store.delete("f").catch((e: unknown) => e);
    expect(fault).not.to.be.instanceOf(ControllerError);
    expect((fault as Error).name).to.equal("ResourceNotFoundException");
    expect(errorResponse(fault).status).to.equal(500);
  });

  it("code that is not a zip is an InvalidRequestError, before anything is stored", async () => {
    const store = new AwsFunctionStore(
      new S3Client(awsConfig(() => Promise.reject(new Error("no call expected")))),
      new DynamoDBClient(awsConfig(() => Promise.reject(new Error("no call expected")))),
      "b",
      "t",
    );
    const err = await store
      .put("f", { ...deploy, source: undefined, zip: "aGVsbG8=" })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InvalidRequestError);
    expect(errorResponse(err).status).to.equal(400);
  });
});

describe("the invocation records translate Redis outages", () => {
  const id = "00000000-0000-4000-8000-000000000001";
  const failing = (err: Error) =>
    fakeInvocations({
      recordQueued: () => Promise.reject(err),
      forget: () => Promise.reject(err),
      view: () => Promise.reject(err),
    });

  it("a command refused for want of a connection is a StoreUnavailableError, by the client's state", async () => {
    const refused = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    const records = new InvocationRecords(failing(refused), { status: "reconnecting" });
    const recordErr = await records.recordQueued(id, "f", 0).catch((e: unknown) => e);
    expect(recordErr).to.be.instanceOf(StoreUnavailableError);
    expect((recordErr as Error).message).to.equal(`result store unreachable: ${String(refused)}`);
    const viewErr = await records.view(id).catch((e: unknown) => e);
    expect(viewErr).to.be.instanceOf(StoreUnavailableError);
    expect((viewErr as Error).message).to.equal(`a backing service is unreachable: ${String(refused)}`);
    expect(await records.forget(id).catch((e: unknown) => e)).to.be.instanceOf(StoreUnavailableError);
  });

  it("spent retries and socket errors are outages even while the client calls itself ready", async () => {
    const spent = Object.assign(new Error("Reached the max retries per request limit (which is 1)."), {
      name: "MaxRetriesPerRequestError",
    });
    for (const err of [spent, connectionRefused()]) {
      const records = new InvocationRecords(failing(err), { status: "ready" });
      expect(await records.view(id).catch((e: unknown) => e), err.name).to.be.instanceOf(
        StoreUnavailableError,
      );
    }
  });

  it("a reply error or a bad record from a connected Redis is a fault, passed on as it is", async () => {
    const reply = Object.assign(
      new Error("WRONGTYPE Operation against a key holding the wrong kind of value"),
      {
        name: "ReplyError",
      },
    );
    const parse = new SyntaxError("Unexpected token");
    for (const [err, status] of [
      [reply, "ready"],
      [reply, "reconnecting"],
      [parse, "ready"],
    ] as const) {
      const records = new InvocationRecords(failing(err), { status });
      expect(await records.view(id).catch((e: unknown) => e)).to.equal(err);
    }
  });
});

describe("the HTTP layer answers by error type", () => {
  let server: Server;
  let base: string;
  const key = "k".repeat(20);
  const functions: FunctionStore = {
    put: () => Promise.reject(new Error("not used")),
    list: () => Promise.reject(new StoreUnavailableError("a backing service is unreachable: test")),
    delete: () => Promise.resolve(false),
    get: (name: string) =>
      name === "down"
        ? Promise.reject(new StoreUnavailableError("a backing service is unreachable: test"))
        : Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { name: "Error" })),
  };

  before(async () => {
    const app = createApp({
      instanceId: () => "i-test",
      apiKey: key,
      workerSecret: "s".repeat(20),
      envSealer: new EnvSealer("e".repeat(32)),
      functions,
      queue: { send: () => Promise.resolve(), approximateDepth: () => 0, close: () => Promise.resolve() },
      invocations: fakeInvocations(),
      results: {
        wait: () => Promise.resolve(undefined),
        cancel: () => undefined,
        deliver: () => undefined,
        size: 0,
      },
      inflight: new InflightTracker(),
      ...usualAppDeps(log),
    });
    server = app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });
  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${key}` } });

  it("503 for a typed store outage, 500 for an untyped error whose message only looks like one", async () => {
    const down = await get("/api/functions/down");
    expect(down.status).to.equal(503);
    expect(await down.json()).to.deep.equal({
      error: { code: "ServiceUnavailable", message: "a backing service is unreachable: test" },
    });
    const bug = await get("/api/functions/bug");
    expect(bug.status).to.equal(500);
    expect(await bug.json()).to.deep.equal({ error: { code: "InternalError", message: "internal error" } });
  });

  it("404 for an unknown function, an unknown route, and OPTIONS on a served path", async () => {
    const missing = await fetch(`${base}/api/functions/gone`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(missing.status).to.equal(404);
    expect(((await missing.json()) as ErrorBody).error.message).to.equal(
      "function 'gone' does not exist; deploy it with PUT /api/functions/gone",
    );
    for (const [path, method] of [
      ["/nowhere", "GET"],
      ["/api/functions", "OPTIONS"],
    ] as const) {
      const res = await get(path, { method });
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(await res.json()).to.deep.equal({ error: { code: "NotFound", message: "no such route" } });
    }
  });
});
