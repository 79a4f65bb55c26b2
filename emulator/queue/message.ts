/**
 * A message as the queue service keeps it, its attributes, and the checksums SQS answers with:
 * MD5OfMessageBody over the body's UTF-8 bytes (the SDK checks it on every send and receive), and
 * MD5OfMessageAttributes over the attributes in SQS's own encoding (names sorted; each name, data
 * type and value as a 4-byte big-endian length and the bytes, with a transport byte 1 for string
 * values and 2 for binary ones between type and value).
 */
import { createHash } from "node:crypto";
import { NOT_IN_HEAP } from "./indexed-heap";
import { ListNode } from "./linked-list";

export interface MessageAttribute {
  DataType: string;
  StringValue?: string;
  /** Raw bytes; base64 on the wire. */
  BinaryValue?: Buffer;
}

export type MessageAttributes = Record<string, MessageAttribute>;

export type MessageState = "delayed" | "visible" | "inflight" | "gone";

export class StoredMessage {
  state: MessageState = "visible";
  /** When a delayed or in-flight message becomes visible (ms since the epoch). */
  visibleAt = 0;
  receiveCount = 0;
  firstReceiveAt: number | undefined;
  /** The receipt handle of the latest receive: the only one that deletes or changes the message. */
  receipt: string | undefined;
  /** Positions in the queue's structures (indexed-heap.ts, linked-list.ts). */
  timerSlot = NOT_IN_HEAP;
  ageSlot = NOT_IN_HEAP;
  visibleNode: ListNode<StoredMessage> | undefined;

  constructor(
    readonly id: string,
    /** Order of arrival in its first queue: breaks ties between messages sent in the same millisecond. */
    readonly seq: number,
    readonly body: string,
    readonly attributes: MessageAttributes,
    readonly sentAt: number,
    readonly senderId: string,
    readonly md5OfBody: string = md5Hex(Buffer.from(body, "utf8")),
  ) {}
}

export function md5Hex(bytes: Buffer): string {
  return createHash("md5").update(bytes).digest("hex");
}

/** SQS's MD5 of message attributes; undefined when there are none, as SQS then sends no field. */
export function md5OfAttributes(attributes: MessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash("md5");
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of names) {
    const attribute = attributes[name] as MessageAttribute;
    field(Buffer.from(name, "utf8"));
    field(Buffer.from(attribute.DataType, "utf8"));
    if (attribute.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      field(attribute.BinaryValue);
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(attribute.StringValue ?? "", "utf8"));
    }
  }
  return hash.digest("hex");
}

/** The bytes SQS counts against the message size limit: the body, and each attribute's name, type and value. */
export function messageSize(body: string, attributes: MessageAttributes): number {
  let size = Buffer.byteLength(body, "utf8");
  for (const [name, attribute] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, "utf8") + Buffer.byteLength(attribute.DataType, "utf8");
    size +=
      attribute.BinaryValue !== undefined
        ? attribute.BinaryValue.length
        : Buffer.byteLength(attribute.StringValue ?? "", "utf8");
  }
  return size;
}
