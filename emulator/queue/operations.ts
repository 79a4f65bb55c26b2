/**
 * The SQS operations: each request body parsed at the boundary (zod, then SQS's own limits, with the
 * error names SQS answers), applied to the registry, and answered in the shape @aws-sdk/client-sqs
 * reads. Operations SQS has and this service does not (permissions, message move tasks, dead-letter
 * source listing) answer UnsupportedOperation.
 */
import { invalidParameter, SqsError } from "./errors";
import { messageSize } from "./message";
import { MAX_MESSAGE_BYTES } from "./queue-attributes";
import { QueueRegistry } from "./queue-registry";
import {
  schemas,
  parse,
  inRange,
  checkMessage,
  sentAnswer,
  checkBatch,
  batch,
  receivedAnswer,
  parseAttributesLoosely,
} from "./requests";

export interface RequestContext {
  /** `http://host:port` as the client reached the service. */
  origin: string;
  /** Aborted when the client closes the connection (ends a long poll). */
  signal: AbortSignal;
}

type Handler = (registry: QueueRegistry, input: unknown, context: RequestContext) => unknown;

const unsupported: Handler = () => {
  throw new SqsError(
    "UnsupportedOperation",
    "This operation is not supported by the local queue service (docs/queue.md).",
  );
};

export const OPERATIONS: Record<string, Handler> = {
  CreateQueue(registry, input, { origin }) {
    const request = parse(schemas.CreateQueue, input);
    const queue = registry.create(request.QueueName, request.Attributes ?? {}, request.tags ?? {});
    return { QueueUrl: registry.url(origin, queue) };
  },

  GetQueueUrl(registry, input, { origin }) {
    const request = parse(schemas.GetQueueUrl, input);
    if (
      request.QueueOwnerAWSAccountId !== undefined &&
      request.QueueOwnerAWSAccountId !== registry.options.accountId
    ) {
      throw new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
    }
    return { QueueUrl: registry.url(origin, registry.byName(request.QueueName)) };
  },

  GetQueueAttributes(registry, input) {
    const request = parse(schemas.GetQueueAttributes, input);
    const queue = registry.byUrl(request.QueueUrl);
    const attributes = registry.getAttributes(queue, request.AttributeNames ?? []);
    return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
  },

  SetQueueAttributes(registry, input) {
    const request = parse(schemas.SetQueueAttributes, input);
    registry.setAttributes(registry.byUrl(request.QueueUrl), request.Attributes);
    return {};
  },

  ListQueues(registry, input, { origin }) {
    const request = parse(schemas.ListQueues, input);
    inRange("MaxResults", request.MaxResults, 1, 1000);
    const after =
      request.NextToken === undefined ? undefined : Buffer.from(request.NextToken, "base64url").toString();
    const all = registry.list(request.QueueNamePrefix ?? "", after);
    const page = all.slice(0, request.MaxResults ?? 1000);
    const out: Record<string, unknown> = {};
    if (page.length > 0) out.QueueUrls = page.map((q) => registry.url(origin, q));
    const last = page.at(-1);
    if (request.MaxResults !== undefined && all.length > page.length && last !== undefined) {
      out.NextToken = Buffer.from(last.name).toString("base64url");
    }
    return out;
  },

  DeleteQueue(registry, input) {
    registry.delete(registry.byUrl(parse(schemas.QueueOnly, input).QueueUrl));
    return {};
  },

  PurgeQueue(registry, input) {
    registry.byUrl(parse(schemas.QueueOnly, input).QueueUrl).purge();
    return {};
  },

  TagQueue(registry, input) {
    const request = parse(schemas.TagQueue, input);
    const queue = registry.byUrl(request.QueueUrl);
    if (Object.keys(request.Tags).length === 0)
      throw new SqsError("MissingParameter", "The request must contain the parameter Tags.");
    for (const [key, value] of Object.entries(request.Tags)) queue.tags.set(key, value);
    if (queue.tags.size > 50)
      throw new SqsError("InvalidParameterValue", `Too many tags added for queue ${queue.name}.`);
    return {};
  },

  UntagQueue(registry, input) {
    const request = parse(schemas.UntagQueue, input);
    const queue = registry.byUrl(request.QueueUrl);
    for (const key of request.TagKeys) queue.tags.delete(key);
    return {};
  },

  ListQueueTags(registry, input) {
    const queue = registry.byUrl(parse(schemas.QueueOnly, input).QueueUrl);
    return queue.tags.size > 0 ? { Tags: Object.fromEntries(queue.tags) } : {};
  },

  SendMessage(registry, input) {
    const request = parse(schemas.SendMessage, input);
    const queue = registry.byUrl(request.QueueUrl);
    const outgoing = checkMessage(queue, request);
    const message = queue.send(outgoing.body, outgoing.attributes, outgoing.delaySeconds);
    queue.notify();
    return sentAnswer(message);
  },

  SendMessageBatch(registry, input) {
    const request = parse(schemas.SendMessageBatch, input);
    const queue = registry.byUrl(request.QueueUrl);
    checkBatch(request.Entries, "SendMessageBatch");
    const total = request.Entries.reduce(
      (sum, e) => sum + messageSize(e.MessageBody, parseAttributesLoosely(e.MessageAttributes)),
      0,
    );
    if (total > MAX_MESSAGE_BYTES) {
      throw new SqsError(
        "BatchRequestTooLong",
        `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${total} bytes.`,
      );
    }
    const answer = batch(request.Entries, (entry) => {
      const outgoing = checkMessage(queue, entry);
      return sentAnswer(queue.send(outgoing.body, outgoing.attributes, outgoing.delaySeconds));
    });
    queue.notify();
    return answer;
  },

  async ReceiveMessage(registry, input, { signal }) {
    const request = parse(schemas.ReceiveMessage, input);
    const queue = registry.byUrl(request.QueueUrl);
    if (
      request.MaxNumberOfMessages !== undefined &&
      (request.MaxNumberOfMessages < 1 || request.MaxNumberOfMessages > 10)
    ) {
      throw invalidParameter(
        "MaxNumberOfMessages",
        request.MaxNumberOfMessages,
        "Must be between 1 and 10, if provided",
      );
    }
    inRange("WaitTimeSeconds", request.WaitTimeSeconds, 0, 20);
    inRange("VisibilityTimeout", request.VisibilityTimeout, 0, 43_200);
    const received = await queue.receive({
      max: request.MaxNumberOfMessages ?? 1,
      visibilityTimeoutS: request.VisibilityTimeout ?? queue.settings.visibilityTimeout,
      waitS: request.WaitTimeSeconds ?? queue.settings.receiveMessageWaitTimeSeconds,
      signal,
    });
    const systemNames = new Set([
      ...(request.AttributeNames ?? []),
      ...(request.MessageSystemAttributeNames ?? []),
    ]);
    const attributeNames = request.MessageAttributeNames ?? [];
    return received.length > 0
      ? { Messages: received.map((r) => receivedAnswer(r, systemNames, attributeNames)) }
      : {};
  },

  DeleteMessage(registry, input) {
    const request = parse(schemas.DeleteMessage, input);
    registry.byUrl(request.QueueUrl).delete(request.ReceiptHandle);
    return {};
  },

  DeleteMessageBatch(registry, input) {
    const request = parse(schemas.DeleteMessageBatch, input);
    const queue = registry.byUrl(request.QueueUrl);
    checkBatch(request.Entries, "DeleteMessageBatch");
    return batch(request.Entries, (entry) => {
      queue.delete(entry.ReceiptHandle);
      return {};
    });
  },

  ChangeMessageVisibility(registry, input) {
    const request = parse(schemas.ChangeMessageVisibility, input);
    const queue = registry.byUrl(request.QueueUrl);
    inRange("VisibilityTimeout", request.VisibilityTimeout, 0, 43_200);
    queue.changeVisibility(request.ReceiptHandle, request.VisibilityTimeout);
    return {};
  },

  ChangeMessageVisibilityBatch(registry, input) {
    const request = parse(schemas.ChangeMessageVisibilityBatch, input);
    const queue = registry.byUrl(request.QueueUrl);
    checkBatch(request.Entries, "ChangeMessageVisibilityBatch");
    return batch(request.Entries, (entry) => {
      inRange("VisibilityTimeout", entry.VisibilityTimeout, 0, 43_200);
      queue.changeVisibility(entry.ReceiptHandle, entry.VisibilityTimeout);
      return {};
    });
  },

  AddPermission: unsupported,
  RemovePermission: unsupported,
  ListDeadLetterSourceQueues: unsupported,
  StartMessageMoveTask: unsupported,
  CancelMessageMoveTask: unsupported,
  ListMessageMoveTasks: unsupported,
};
