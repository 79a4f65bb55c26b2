/**
 * Checks a deployed zip from its central directory alone, without inflating anything, so a bad
 * archive is a clear 400 at deploy instead of a failure at every invocation. Entry names are paths the
 * worker will write to: absolute names, `..` segments, backslashes and duplicates are refused outright
 * (the worker refuses escapes again while unpacking). Sizes here are what the archive declares; the
 * worker enforces the real unpacked limit while inflating, since declared sizes can lie.
 *
 * The handler's module must be in the archive as `<module>.js` or `<module>/index.js`: the two forms
 * the worker's `require` of the module path resolves for JavaScript.
 *
 * The central directory is read here rather than with adm-zip (which the worker unpacks with):
 * adm-zip builds a heavy object per entry, about 2 s of blocked event loop for 10 000 entries, long
 * enough for the controller to fail its health checks; this loop takes milliseconds and reads the entry
 * count before anything else.
 */
import { parseHandler } from "../../contracts";

export const MAX_ZIP_ENTRIES = 10_000;

export class CodeArchiveError extends Error {
  override readonly name = "CodeArchiveError";
}

export interface ArchiveLimits {
  maxUnpackedBytes: number;
  maxEntries?: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_BYTES = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_BYTES = 46;
const ZIP64_EXTRA_ID = 0x0001;
const UTF8_FLAG = 0x0800;

/** Throws a CodeArchiveError saying what is wrong with the archive, for the deployer to read. */
export function checkZip(zip: Buffer, handler: string, limits: ArchiveLimits): void {
  const maxEntries = limits.maxEntries ?? MAX_ZIP_ENTRIES;
  const directory = readDirectoryEnd(zip);
  if (directory.entries > maxEntries) {
    throw new CodeArchiveError(`the zip has ${directory.entries} entries; at most ${maxEntries} are allowed`);
  }
  const names = new Set<string>();
  let unpacked = 0;
  let at = directory.offset;
  for (let i = 0; i < directory.entries; i++) {
    need(zip, at, CENTRAL_BYTES);
    if (zip.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw unreadable("a central directory entry is damaged");
    const flags = zip.readUInt16LE(at + 8);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    need(zip, at + CENTRAL_BYTES, nameLength + extraLength);
    const nameBytes = zip.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength);
    const name = nameBytes.toString(flags & UTF8_FLAG ? "utf8" : "latin1");
    const problem = unsafeName(name);
    if (problem !== undefined) {
      throw new CodeArchiveError(`the zip entry ${JSON.stringify(name.slice(0, 200))} ${problem}`);
    }
    if (names.has(name)) throw new CodeArchiveError(`the zip has two entries named ${JSON.stringify(name)}`);
    names.add(name);
    const extra = zip.subarray(
      at + CENTRAL_BYTES + nameLength,
      at + CENTRAL_BYTES + nameLength + extraLength,
    );
    unpacked += declaredSize(zip.readUInt32LE(at + 24), extra);
    at += CENTRAL_BYTES + nameLength + extraLength + commentLength;
  }
  if (unpacked > limits.maxUnpackedBytes) {
    throw new CodeArchiveError(
      `the zip unpacks to ${unpacked} bytes (as declared); at most ${limits.maxUnpackedBytes} are allowed`,
    );
  }
  const { module } = parseHandler(handler);
  const candidates = [`${module}.js`, `${module}/index.js`];
  if (!candidates.some((c) => names.has(c))) {
    throw new CodeArchiveError(
      `the handler '${handler}' needs ${candidates.map((c) => `'${c}'`).join(" or ")} in the zip, at its root`,
    );
  }
}

/** Where the central directory starts and how many entries it declares (ZIP64 included). */
function readDirectoryEnd(zip: Buffer): { entries: number; offset: number } {
  const last = zip.length - EOCD_BYTES;
  let end = -1;
  for (let i = last; i >= 0 && i >= last - 0xffff; i--) {
    if (zip.readUInt32LE(i) === EOCD_SIGNATURE) {
      end = i;
      break;
    }
  }
  if (end < 0) throw unreadable("no end of central directory record");
  let entries = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  const locator = end - 20;
  if ((entries === 0xffff || offset === 0xffffffff) && locator >= 0) {
    if (zip.readUInt32LE(locator) !== ZIP64_LOCATOR_SIGNATURE)
      throw unreadable("the ZIP64 locator is missing");
    const record = safeNumber(zip.readBigUInt64LE(locator + 8));
    need(zip, record, 56);
    if (zip.readUInt32LE(record) !== ZIP64_EOCD_SIGNATURE)
      throw unreadable("the ZIP64 end record is damaged");
    entries = safeNumber(zip.readBigUInt64LE(record + 32));
    offset = safeNumber(zip.readBigUInt64LE(record + 48));
  }
  return { entries, offset };
}

/** The uncompressed size, from the ZIP64 extra field when the 32-bit field says it is there. */
function declaredSize(size32: number, extra: Buffer): number {
  if (size32 !== 0xffffffff) return size32;
  for (let at = 0; at + 4 <= extra.length;) {
    const id = extra.readUInt16LE(at);
    const length = extra.readUInt16LE(at + 2);
    if (id === ZIP64_EXTRA_ID && length >= 8 && at + 12 <= extra.length) {
      return safeNumber(extra.readBigUInt64LE(at + 4));
    }
    at += 4 + length;
  }
  throw unreadable("an entry's ZIP64 size is missing");
}

function safeNumber(value: bigint): number {
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

function need(zip: Buffer, at: number, bytes: number): void {
  if (at < 0 || at + bytes > zip.length) throw unreadable("the central directory is truncated");
}

function unreadable(why: string): CodeArchiveError {
  return new CodeArchiveError(`'zip' is not a readable zip archive: ${why}`);
}

function unsafeName(name: string): string | undefined {
  if (name === "") return "has an empty name";
  if (name.includes("\\")) return "contains a backslash (zip paths use '/')";
  if (name.includes("\0")) return "contains a NUL character";
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "is an absolute path";
  if (name.split("/").includes("..")) return "contains a '..' segment";
  return undefined;
}
