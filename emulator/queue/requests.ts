/**
 * What the SQS operations (operations.ts) check a request against, and how they shape an answer: the
 * request schemas, SQS's own limits and error names, message attributes, batches, and the received
 * message as @aws-sdk/client-sqs reads it.
 */
import { z } from "zod";
import { invalidParameter, SqsError } from "./errors";
import { MessageAttribute, MessageAttributes, messageSize, md5OfAttributes, StoredMessage } from "./message";
import { MessageQueue, Received } from "./message-queue";

const stringMap = z.record(z.string(), z.string());
const attributeValue = z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().optional(),
  StringListValues: z.array(z.string()).optional(),
  BinaryListValues: z.array(z.string()).optional(),
});
const queueUrl = { QueueUrl: z.string() };
const sendEntry = {
  MessageBody: z.string(),
  DelaySeconds: z.number().int().optional(),
  MessageAttributes: z.record(z.string(), attributeValue).optional(),
  MessageSystemAttributes: z.record(z.string(), z.unknown()).optional(),
  MessageDeduplicationId: z.string().optional(),
  MessageGroupId: z.string().optional(),
};

export const schemas = {
  CreateQueue: z.object({
    QueueName: z.string(),
    Attributes: stringMap.optional(),
    tags: stringMap.optional(),
  }),
  GetQueueUrl: z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() }),
  GetQueueAttributes: z.object({ ...queueUrl, AttributeNames: z.array(z.string()).optional() }),
  SetQueueAttributes: z.object({ ...queueUrl, Attributes: stringMap }),
  ListQueues: z.object({
    QueueNamePrefix: z.string().optional(),
    MaxResults: z.number().int().optional(),
    NextToken: z.string().optional(),
  }),
  QueueOnly: z.object(queueUrl),
  TagQueue: z.object({ ...queueUrl, Tags: stringMap }),
  UntagQueue: z.object({ ...queueUrl, TagKeys: z.array(z.string()) }),
  SendMessage: z.object({ ...queueUrl, ...sendEntry }),
  SendMessageBatch: z.object({ ...queueUrl, Entries: z.array(z.object({ Id: z.string(), ...sendEntry })) }),
  ReceiveMessage: z.object({
    ...queueUrl,
    AttributeNames: z.array(z.string()).optional(),
    MessageSystemAttributeNames: z.array(z.string()).optional(),
    MessageAttributeNames: z.array(z.string()).optional(),
    MaxNumberOfMessages: z.number().int().optional(),
    VisibilityTimeout: z.number().int().optional(),
    WaitTimeSeconds: z.number().int().optional(),
    ReceiveRequestAttemptId: z.string().optional(),
  }),
  DeleteMessage: z.object({ ...queueUrl, ReceiptHandle: z.string() }),
  DeleteMessageBatch: z.object({
    ...queueUrl,
    Entries: z.array(z.object({ Id: z.string(), ReceiptHandle: z.string() })),
  }),
  ChangeMessageVisibility: z.object({
    ...queueUrl,
    ReceiptHandle: z.string(),
    VisibilityTimeout: z.number().int(),
  }),
  ChangeMessageVisibilityBatch: z.object({
    ...queueUrl,
    Entries: z.array(
      z.object({ Id: z.string(), ReceiptHandle: z.string(), VisibilityTimeout: z.number().int() }),
    ),
  }),
};

/** Parses `input` with `schema`; a missing member is MissingParameter, a mistyped one InvalidParameterValue. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  let value: unknown = input;
  for (const key of issue?.path ?? []) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  if (value === undefined) {
    throw new SqsError("MissingParameter", `The request must contain the parameter ${path}.`);
  }
  throw new SqsError(
    "InvalidParameterValue",
    `Value for parameter ${path} is invalid: ${issue?.message ?? "bad type"}.`,
  );
}

export function inRange(name: string, value: number | undefined, min: number, max: number): void {
  if (value !== undefined && (value < min || value > max)) {
    throw invalidParameter(name, value, `Must be >= ${min} and <= ${max}, if provided`);
  }
}

// XML 1.0's characters, which is what SQS accepts in a body and in string attribute values.
const ALLOWED_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)[A-Za-z0-9_.-]{1,256}$/;

function parseAttributes(
  given: Record<string, z.infer<typeof attributeValue>> | undefined,
): MessageAttributes {
  const out: MessageAttributes = {};
  const entries = Object.entries(given ?? {});
  if (entries.length > 10) {
    throw new SqsError(
      "InvalidParameterValue",
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`,
    );
  }
  for (const [name, value] of entries) {
    if (!ATTRIBUTE_NAME.test(name) || /^(aws\.|amazon\.)/i.test(name)) {
      throw new SqsError("InvalidParameterValue", `The message attribute name '${name}' is invalid.`);
    }
    const type = value.DataType;
    const base = type.split(".")[0];
    if (base !== "String" && base !== "Number" && base !== "Binary") {
      throw new SqsError(
        "InvalidParameterValue",
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    }
    if (value.StringListValues !== undefined || value.BinaryListValues !== undefined) {
      throw new SqsError(
        "UnsupportedOperation",
        "Message attribute list values in SendMessage operation are not supported.",
      );
    }
    const attribute: MessageAttribute = { DataType: type };
    if (base === "Binary") {
      if (value.BinaryValue === undefined) {
        throw new SqsError(
          "InvalidParameterValue",
          `The message attribute '${name}' with type 'Binary' must use field 'Binary'.`,
        );
      }
      attribute.BinaryValue = Buffer.from(value.BinaryValue, "base64");
    } else {
      if (value.StringValue === undefined || value.StringValue === "") {
        throw new SqsError(
          "InvalidParameterValue",
          `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${base}'.`,
        );
      }
      if (base === "Number" && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.StringValue.trim())) {
        throw new SqsError(
          "InvalidParameterValue",
          `Can't cast the value of message (user) attribute '${name}' to a number.`,
        );
      }
      if (!ALLOWED_TEXT.test(value.StringValue)) {
        throw new SqsError(
          "InvalidParameterValue",
          `Message (user) attribute '${name}' value contains invalid characters.`,
        );
      }
      attribute.StringValue = value.StringValue;
    }
    out[name] = attribute;
  }
  return out;
}

interface Outgoing {
  body: string;
  attributes: MessageAttributes;
  delaySeconds: number | undefined;
}

/** One message to send, checked against SQS's limits; the error is the entry's in a batch. */
export function checkMessage(queue: MessageQueue, entry: z.infer<z.ZodObject<typeof sendEntry>>): Outgoing {
  inRange("DelaySeconds", entry.DelaySeconds, 0, 900);
  // MessageGroupId is accepted, as SQS accepts it on standard queues (fair queues), and has no effect here.
  if (entry.MessageDeduplicationId !== undefined) {
    throw invalidParameter(
      "MessageDeduplicationId",
      entry.MessageDeduplicationId,
      "The request includes a parameter that is not valid for this queue type",
    );
  }
  if (entry.MessageBody === "") {
    throw new SqsError("MissingParameter", "The request must contain the parameter MessageBody.");
  }
  if (!ALLOWED_TEXT.test(entry.MessageBody)) {
    throw new SqsError(
      "InvalidMessageContents",
      "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
    );
  }
  const attributes = parseAttributes(entry.MessageAttributes);
  const size = messageSize(entry.MessageBody, attributes);
  const limit = queue.settings.maximumMessageSize;
  if (size > limit) {
    throw new SqsError(
      "InvalidParameterValue",
      `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
    );
  }
  return { body: entry.MessageBody, attributes, delaySeconds: entry.DelaySeconds };
}

export function sentAnswer(message: StoredMessage): Record<string, string> {
  const out: Record<string, string> = { MessageId: message.id, MD5OfMessageBody: message.md5OfBody };
  const md5 = md5OfAttributes(message.attributes);
  if (md5 !== undefined) out.MD5OfMessageAttributes = md5;
  return out;
}

interface BatchEntry {
  Id: string;
}

/** SQS's checks on a batch as a whole, in SQS's order. */
export function checkBatch(entries: BatchEntry[], action: string): void {
  if (entries.length === 0) {
    throw new SqsError(
      "EmptyBatchRequest",
      `There should be at least one ${action}RequestEntry in the request.`,
    );
  }
  if (entries.length > 10) {
    throw new SqsError(
      "TooManyEntriesInBatchRequest",
      `Maximum number of entries per request are 10. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const { Id } of entries) {
    if (seen.has(Id)) throw new SqsError("BatchEntryIdsNotDistinct", `Id ${Id} repeated.`);
    seen.add(Id);
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(Id)) {
      throw new SqsError(
        "InvalidBatchEntryId",
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
      );
    }
  }
}

/** Runs `each` per entry: its success in Successful, an SqsError in Failed (anything else fails the call). */
export function batch<E extends BatchEntry>(
  entries: E[],
  each: (entry: E) => Record<string, string>,
): { Successful: Record<string, string>[]; Failed: Record<string, unknown>[] } {
  const Successful: Record<string, string>[] = [];
  const Failed: Record<string, unknown>[] = [];
  for (const entry of entries) {
    try {
      Successful.push({ Id: entry.Id, ...each(entry) });
    } catch (err) {
      if (!(err instanceof SqsError)) throw err;
      Failed.push({ Id: entry.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
    }
  }
  return { Successful, Failed };
}

const SYSTEM_ATTRIBUTES = [
  "SenderId",
  "SentTimestamp",
  "ApproximateReceiveCount",
  "ApproximateFirstReceiveTimestamp",
];

function systemAttributes(message: StoredMessage, names: Set<string>): Record<string, string> | undefined {
  const all = names.has("All");
  const values: Record<string, string> = {
    SenderId: message.senderId,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
  };
  const out: Record<string, string> = {};
  for (const name of SYSTEM_ATTRIBUTES) if (all || names.has(name)) out[name] = values[name] as string;
  return Object.keys(out).length > 0 ? out : undefined;
}

function chosenAttributes(attributes: MessageAttributes, names: string[]): MessageAttributes {
  const out: MessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = names.some(
      (n) => n === "All" || n === ".*" || n === name || (n.endsWith(".*") && name.startsWith(n.slice(0, -1))),
    );
    if (wanted) out[name] = value;
  }
  return out;
}

export function receivedAnswer(
  { message, receipt }: Received,
  systemNames: Set<string>,
  attributeNames: string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    MessageId: message.id,
    ReceiptHandle: receipt,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
  };
  const system = systemAttributes(message, systemNames);
  if (system !== undefined) out.Attributes = system;
  const attributes = chosenAttributes(message.attributes, attributeNames);
  const md5 = md5OfAttributes(attributes);
  if (md5 !== undefined) {
    out.MD5OfMessageAttributes = md5;
    out.MessageAttributes = Object.fromEntries(
      Object.entries(attributes).map(([name, a]) => [
        name,
        a.BinaryValue !== undefined
          ? { DataType: a.DataType, BinaryValue: a.BinaryValue.toString("base64") }
          : { DataType: a.DataType, StringValue: a.StringValue },
      ]),
    );
  }
  return out;
}

/** Sizes for the batch total only: a malformed attribute fails its own entry later. */
export function parseAttributesLoosely(
  given: Record<string, z.infer<typeof attributeValue>> | undefined,
): MessageAttributes {
  const out: MessageAttributes = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    out[name] = {
      DataType: value.DataType,
      ...(value.BinaryValue !== undefined
        ? { BinaryValue: Buffer.from(value.BinaryValue, "base64") }
        : { StringValue: value.StringValue ?? "" }),
    };
  }
  return out;
}
