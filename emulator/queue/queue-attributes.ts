/**
 * Queue attributes as CreateQueue, SetQueueAttributes and GetQueueAttributes name them: parsed from
 * their string form into typed settings (with SQS's ranges and error names), and rendered back.
 * Policy, RedriveAllowPolicy and the encryption attributes are kept and echoed but have no effect
 * here; FIFO attributes are refused, since only standard queues exist (docs/queue.md).
 */
import { SqsError } from "./errors";

export interface RedrivePolicy {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export interface QueueSettings {
  delaySeconds: number;
  maximumMessageSize: number;
  messageRetentionPeriod: number;
  receiveMessageWaitTimeSeconds: number;
  visibilityTimeout: number;
  redrivePolicy: RedrivePolicy | undefined;
  /** Kept as given, echoed by GetQueueAttributes, without effect. */
  stored: Record<string, string>;
}

/** SQS's limit since August 2025 (it was 256 KiB before): the largest MaximumMessageSize, and its default. */
export const MAX_MESSAGE_BYTES = 1_048_576;

export const DEFAULT_SETTINGS: QueueSettings = {
  delaySeconds: 0,
  maximumMessageSize: MAX_MESSAGE_BYTES,
  messageRetentionPeriod: 345_600,
  receiveMessageWaitTimeSeconds: 0,
  visibilityTimeout: 30,
  redrivePolicy: undefined,
  stored: { SqsManagedSseEnabled: "true" },
};

const RANGES = {
  DelaySeconds: [0, 900, "delaySeconds"],
  MaximumMessageSize: [1024, MAX_MESSAGE_BYTES, "maximumMessageSize"],
  MessageRetentionPeriod: [60, 1_209_600, "messageRetentionPeriod"],
  ReceiveMessageWaitTimeSeconds: [0, 20, "receiveMessageWaitTimeSeconds"],
  VisibilityTimeout: [0, 43_200, "visibilityTimeout"],
} as const;

const STORED_ONLY = new Set([
  "Policy",
  "RedriveAllowPolicy",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
]);

const FIFO_ONLY = new Set([
  "FifoQueue",
  "ContentBasedDeduplication",
  "DeduplicationScope",
  "FifoThroughputLimit",
]);

const READ_ONLY = [
  "ApproximateNumberOfMessages",
  "ApproximateNumberOfMessagesNotVisible",
  "ApproximateNumberOfMessagesDelayed",
  "CreatedTimestamp",
  "LastModifiedTimestamp",
  "QueueArn",
] as const;

/** Every name GetQueueAttributes knows, "All" included. */
export const READABLE_ATTRIBUTES = new Set<string>([
  "All",
  ...READ_ONLY,
  ...Object.keys(RANGES),
  "RedrivePolicy",
  ...STORED_ONLY,
  ...FIFO_ONLY,
]);

export const FIFO_UNSUPPORTED =
  "FIFO queues are not supported by the local queue service: it has standard queues only (docs/queue.md).";

/** `base` with `given` applied; throws SQS's error for an unknown name or a bad value. */
export function applyAttributes(
  base: QueueSettings,
  given: Record<string, string>,
  deadLetterExists: (arn: string) => boolean,
): QueueSettings {
  const settings: QueueSettings = { ...base, stored: { ...base.stored } };
  for (const [name, value] of Object.entries(given)) {
    if (name in RANGES) {
      const [min, max, key] = RANGES[name as keyof typeof RANGES];
      const n = Number(value);
      if (!/^\s*-?\d+\s*$/.test(value) || n < min || n > max) {
        throw new SqsError("InvalidAttributeValue", `Invalid value for the parameter ${name}.`);
      }
      settings[key] = n;
    } else if (name === "RedrivePolicy") {
      settings.redrivePolicy = parseRedrivePolicy(value, deadLetterExists);
    } else if (STORED_ONLY.has(name)) {
      settings.stored[name] = value;
    } else if (FIFO_ONLY.has(name)) {
      if (name === "FifoQueue" && value === "false") continue;
      throw new SqsError("UnsupportedOperation", FIFO_UNSUPPORTED);
    } else {
      throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    }
  }
  return settings;
}

function parseRedrivePolicy(
  value: string,
  deadLetterExists: (arn: string) => boolean,
): RedrivePolicy | undefined {
  if (value === "" || value === "{}") return undefined;
  const invalid = (reason: string) =>
    new SqsError(
      "InvalidParameterValue",
      `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${reason}`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid("Redrive policy is not a valid JSON map.");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid("Redrive policy is not a valid JSON map.");
  const { deadLetterTargetArn, maxReceiveCount } = parsed as Record<string, unknown>;
  if (typeof deadLetterTargetArn !== "string")
    throw invalid("Redrive policy does not contain deadLetterTargetArn.");
  const count = Number(maxReceiveCount);
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw invalid("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.");
  }
  if (!deadLetterExists(deadLetterTargetArn)) throw invalid("Dead letter target does not exist.");
  return { deadLetterTargetArn, maxReceiveCount: count };
}

/** Whether `given` (as CreateQueue received it) matches what the existing queue has. */
export function sameAttributes(current: QueueSettings, given: Record<string, string>): boolean {
  const rendered = renderSettings(current);
  for (const [name, value] of Object.entries(given)) {
    if (name === "RedrivePolicy") {
      const mine = current.redrivePolicy;
      let theirs: unknown;
      try {
        theirs = value === "" ? undefined : JSON.parse(value);
      } catch {
        return false;
      }
      const t = theirs as Partial<Record<string, unknown>> | undefined;
      if (mine === undefined || t === undefined) {
        if (mine !== t) return false;
        continue;
      }
      if (
        t.deadLetterTargetArn !== mine.deadLetterTargetArn ||
        Number(t.maxReceiveCount) !== mine.maxReceiveCount
      )
        return false;
    } else if (name in RANGES) {
      if (Number(value) !== Number(rendered[name])) return false;
    } else if (name === "FifoQueue" && value === "false") {
      continue;
    } else if (rendered[name] !== value) {
      return false;
    }
  }
  return true;
}

export interface QueueFacts {
  arn: string;
  createdAt: number;
  lastModifiedAt: number;
  counts: { visible: number; inflight: number; delayed: number };
}

/** The settable attributes as strings. */
export function renderSettings(settings: QueueSettings): Record<string, string> {
  const out: Record<string, string> = {
    VisibilityTimeout: String(settings.visibilityTimeout),
    MaximumMessageSize: String(settings.maximumMessageSize),
    MessageRetentionPeriod: String(settings.messageRetentionPeriod),
    DelaySeconds: String(settings.delaySeconds),
    ReceiveMessageWaitTimeSeconds: String(settings.receiveMessageWaitTimeSeconds),
    ...settings.stored,
  };
  if (settings.redrivePolicy !== undefined) out.RedrivePolicy = JSON.stringify(settings.redrivePolicy);
  return out;
}

/** GetQueueAttributes' answer for the names asked ("All" means every one). */
export function renderAttributes(
  settings: QueueSettings,
  facts: QueueFacts,
  names: string[],
): Record<string, string> {
  const all: Record<string, string> = {
    QueueArn: facts.arn,
    ApproximateNumberOfMessages: String(facts.counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(facts.counts.inflight),
    ApproximateNumberOfMessagesDelayed: String(facts.counts.delayed),
    CreatedTimestamp: String(Math.floor(facts.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(facts.lastModifiedAt / 1000)),
    ...renderSettings(settings),
  };
  if (names.includes("All")) return all;
  const out: Record<string, string> = {};
  for (const name of names) {
    if (!READABLE_ATTRIBUTES.has(name))
      throw new SqsError("InvalidAttributeName", `Unknown Attribute ${name}.`);
    const value = all[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
