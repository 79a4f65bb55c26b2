/**
 * The queue service's one error type. Each code is an error SQS itself answers, carried on the wire
 * as the AWS JSON 1.0 protocol with query compatibility does it (what @aws-sdk/client-sqs reads):
 * the HTTP status, a body `{"__type": "com.amazonaws.sqs#<shape>", "message"}` and the header
 * `x-amzn-query-error: <query code>;Sender`. The SDK names the error from the header's query code
 * first, so `QueueDoesNotExist` arrives as a `QueueDoesNotExist` exception whose `Code` is
 * `AWS.SimpleQueueService.NonExistentQueue`, exactly as from SQS; codes SQS does not model as shapes
 * (InvalidParameterValue, MissingParameter) arrive as an SQSServiceException of that name.
 */
export type SqsErrorCode =
  | "QueueDoesNotExist"
  | "QueueNameExists"
  | "ReceiptHandleIsInvalid"
  | "MessageNotInflight"
  | "TooManyEntriesInBatchRequest"
  | "BatchEntryIdsNotDistinct"
  | "EmptyBatchRequest"
  | "InvalidBatchEntryId"
  | "BatchRequestTooLong"
  | "PurgeQueueInProgress"
  | "UnsupportedOperation"
  | "InvalidAttributeName"
  | "InvalidAttributeValue"
  | "InvalidParameterValue"
  | "MissingParameter"
  | "InvalidMessageContents"
  | "UnknownOperation"
  | "SerializationException"
  | "InternalError";

interface WireForm {
  status: number;
  /** Sender: the request was wrong; Receiver: the service failed. */
  fault?: "Sender" | "Receiver";
  /** The `x-amzn-query-error` code: what the SDK turns into the exception's name and `Code`. */
  queryCode: string;
  /** The shape in `__type`; the code itself when SQS has no shape for it. */
  shape?: string;
  namespace?: string;
}

const WIRE: Record<SqsErrorCode, WireForm> = {
  QueueDoesNotExist: { status: 400, queryCode: "AWS.SimpleQueueService.NonExistentQueue" },
  QueueNameExists: { status: 400, queryCode: "QueueAlreadyExists" },
  ReceiptHandleIsInvalid: { status: 404, queryCode: "ReceiptHandleIsInvalid" },
  MessageNotInflight: { status: 400, queryCode: "AWS.SimpleQueueService.MessageNotInflight" },
  TooManyEntriesInBatchRequest: {
    status: 400,
    queryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
  },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" },
  EmptyBatchRequest: { status: 400, queryCode: "AWS.SimpleQueueService.EmptyBatchRequest" },
  InvalidBatchEntryId: { status: 400, queryCode: "AWS.SimpleQueueService.InvalidBatchEntryId" },
  BatchRequestTooLong: { status: 400, queryCode: "AWS.SimpleQueueService.BatchRequestTooLong" },
  PurgeQueueInProgress: { status: 403, queryCode: "AWS.SimpleQueueService.PurgeQueueInProgress" },
  UnsupportedOperation: { status: 400, queryCode: "AWS.SimpleQueueService.UnsupportedOperation" },
  InvalidAttributeName: { status: 400, queryCode: "InvalidAttributeName" },
  InvalidAttributeValue: { status: 400, queryCode: "InvalidAttributeValue" },
  InvalidParameterValue: { status: 400, queryCode: "InvalidParameterValue" },
  MissingParameter: { status: 400, queryCode: "MissingParameter" },
  InvalidMessageContents: { status: 400, queryCode: "InvalidMessageContents" },
  UnknownOperation: {
    status: 400,
    queryCode: "InvalidAction",
    shape: "UnknownOperationException",
    namespace: "com.amazon.coral.service",
  },
  InternalError: { status: 500, queryCode: "InternalError", fault: "Receiver" },
  SerializationException: {
    status: 400,
    queryCode: "InvalidParameterValue",
    shape: "SerializationException",
    namespace: "com.amazon.coral.service",
  },
};

export class SqsError extends Error {
  override readonly name = "SqsError";
  constructor(
    readonly code: SqsErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return WIRE[this.code].status;
  }

  /** The error as the SDK expects it: status, headers and JSON body. */
  toWire(): { status: number; headers: Record<string, string>; body: Record<string, string> } {
    const form = WIRE[this.code];
    return {
      status: form.status,
      headers: { "x-amzn-query-error": `${form.queryCode};${form.fault ?? "Sender"}` },
      body: {
        __type: `${form.namespace ?? "com.amazonaws.sqs"}#${form.shape ?? this.code}`,
        message: this.message,
      },
    };
  }

  /** The query code, as a failed batch entry's `Code` carries it. */
  get queryCode(): string {
    return WIRE[this.code].queryCode;
  }
}

export const queueDoesNotExist = (): SqsError =>
  new SqsError("QueueDoesNotExist", "The specified queue does not exist.");

export const invalidParameter = (name: string, value: unknown, reason: string): SqsError =>
  new SqsError(
    "InvalidParameterValue",
    `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}.`,
  );
