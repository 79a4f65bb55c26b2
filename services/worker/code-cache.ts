/**
 * Function code on local disk, one folder per code version (content hash, and the handler's module
 * for single-file sources, whose file name comes from the handler), fetched from S3 once and mounted
 * read-only into every sandbox that runs it. Folders are owned by the worker and world-readable.
 *
 * Everything here treats the stored record and the archive as hostile: every path written is resolved
 * and must stay inside its folder, a zip is inflated entry by entry against the unpacked-size cap (the
 * sizes an archive declares are not trusted), only stored and deflated entries are taken, and a failed
 * unpack leaves no folder behind.
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import AdmZip from "adm-zip";
import { chmod, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { parseHandler } from "../../contracts";

/** What the cache needs of a function version. */
export interface CodeVersion {
  codeSha256: string;
  codeKey: string;
  codeFormat: "source" | "zip";
  handler: string;
}

/** How long this call spent fetching and unpacking the code; both stay unset when it was cached. */
export interface CodeTiming {
  fetchMs?: number;
  unpackMs?: number;
}

export class CodeError extends Error {
  override readonly name = "CodeError";
}

const MAX_ENTRIES = 10_000;

export class CodeCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly root: string,
    private readonly maxUnpackedBytes: number,
  ) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await chmod(this.root, 0o755);
  }

  /** The folder holding this version's code, downloaded and unpacked if it is not here yet. */
  dirFor(fn: CodeVersion, timing: CodeTiming = {}): Promise<string> {
    const k = cacheKey(fn);
    const existing = this.inFlight.get(k);
    if (existing) return existing;
    const promise = this.materialize(fn, path.join(this.root, k), timing).catch((err: unknown) => {
      this.inFlight.delete(k);
      throw err;
    });
    this.inFlight.set(k, promise);
    return promise;
  }

  private async materialize(fn: CodeVersion, dir: string, timing: CodeTiming): Promise<string> {
    if (await exists(dir)) return dir;
    const { module } = parseHandler(fn.handler);
    const fetchStarted = performance.now();
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: fn.codeKey }));
    if (out.Body === undefined) throw new CodeError(`code object ${fn.codeKey} is empty`);
    const bytes = Buffer.from(await out.Body.transformToByteArray());
    const unpackStarted = performance.now();
    timing.fetchMs = roundMs(unpackStarted - fetchStarted);
    const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
    try {
      await mkdir(staging, { recursive: true });
      if (fn.codeFormat === "zip") await this.unzip(bytes, staging);
      else {
        if (bytes.length > this.maxUnpackedBytes) throw this.tooLarge(bytes.length);
        await writeFile(inside(staging, `${module}.js`), bytes, { mode: 0o444 });
      }
      await chmodTree(staging);
      await rename(staging, dir).catch(async (err: unknown) => {
        if (!(await exists(dir))) throw err;
      });
      timing.unpackMs = roundMs(performance.now() - unpackStarted);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    return dir;
  }

  private async unzip(bytes: Buffer, staging: string): Promise<void> {
    let entries: AdmZip.IZipEntry[];
    try {
      entries = new AdmZip(bytes).getEntries();
    } catch (err) {
      throw new CodeError(`the code is not a readable zip archive: ${(err as Error).message}`);
    }
    if (entries.length > MAX_ENTRIES) throw new CodeError(`the zip has more than ${MAX_ENTRIES} entries`);
    let unpacked = 0;
    for (const entry of entries) {
      const target = inside(staging, entry.entryName);
      if (entry.isDirectory) {
        await mkdir(target, { recursive: true });
        continue;
      }
      const remaining = this.maxUnpackedBytes - unpacked;
      const data = inflateEntry(entry, remaining, () => this.tooLarge(unpacked + remaining + 1));
      unpacked += data.length;
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, data, { mode: 0o444, flag: "wx" });
    }
  }

  private tooLarge(atLeast: number): CodeError {
    return new CodeError(
      `the code unpacks to more than the limit of ${this.maxUnpackedBytes} bytes (at least ${atLeast})`,
    );
  }
}

/** Folder name of a code version: the code's hash, and for a single file the handler's module too. */
function cacheKey(fn: CodeVersion): string {
  if (!/^[0-9a-f]{64}$/.test(fn.codeSha256)) throw new CodeError("invalid code hash");
  if (fn.codeFormat === "zip") return fn.codeSha256;
  const { module } = parseHandler(fn.handler);
  return `${fn.codeSha256}-${createHash("sha256").update(module).digest("hex").slice(0, 16)}`;
}

/** `name` resolved under `dir`, or a CodeError when it would land anywhere else. */
function inside(dir: string, name: string): string {
  const target = path.resolve(dir, name);
  if (name.includes("\0") || path.isAbsolute(name) || !target.startsWith(dir + path.sep))
    throw new CodeError(`'${name}' is outside the code folder`);
  return target;
}

/** One entry's bytes, inflated with a hard cap whatever the archive says its size is. */
function inflateEntry(entry: AdmZip.IZipEntry, maxBytes: number, tooLarge: () => Error): Buffer {
  const compressed = entry.getCompressedData();
  const method = entry.header.method;
  if (method === 0) {
    if (compressed.length > maxBytes) throw tooLarge();
    return compressed;
  }
  if (method !== 8)
    throw new CodeError(
      `zip entry '${entry.entryName}' uses compression method ${method}; only stored and deflated entries are supported`,
    );
  try {
    return inflateRawSync(compressed, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || err instanceof RangeError)
      throw tooLarge();
    throw new CodeError(`zip entry '${entry.entryName}' does not inflate: ${(err as Error).message}`);
  }
}

const roundMs = (ms: number) => Math.round(ms * 100) / 100;

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chmodTree(p);
    else if (entry.isFile()) await chmod(p, 0o444);
    else await rm(p, { force: true });
  }
}
