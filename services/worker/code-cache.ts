/**
 * Function code on local disk, one folder per content hash, fetched from S3 once and shared by every
 * version and warm process that uses it. Folders are world-readable and owned by the worker, so the
 * unprivileged sandbox user can read the code but not change it.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import AdmZip from "adm-zip";
import { chmod, copyFile, mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { FunctionRecord } from "../../contracts";

export class CodeCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly root: string,
  ) {}

  async init(bootstrapSource: string): Promise<string> {
    await mkdir(this.root, { recursive: true });
    await chmod(this.root, 0o755);
    const bootstrap = path.join(this.root, "bootstrap.js");
    await copyFile(bootstrapSource, bootstrap);
    await chmod(bootstrap, 0o444);
    return bootstrap;
  }

  /** The folder holding this function's code, downloaded and unpacked if it is not here yet. */
  dirFor(fn: FunctionRecord): Promise<string> {
    const existing = this.inFlight.get(fn.codeSha256);
    if (existing) return existing;
    const promise = this.materialize(fn).catch((err: unknown) => {
      this.inFlight.delete(fn.codeSha256);
      throw err;
    });
    this.inFlight.set(fn.codeSha256, promise);
    return promise;
  }

  private async materialize(fn: FunctionRecord): Promise<string> {
    const dir = path.join(this.root, fn.codeSha256);
    if (await exists(dir)) return dir;
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: fn.codeKey }));
    if (out.Body === undefined) throw new Error(`code object ${fn.codeKey} is empty`);
    const bytes = Buffer.from(await out.Body.transformToByteArray());
    const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(staging, { recursive: true });
    if (fn.codeFormat === "zip") {
      const zip = new AdmZip(bytes);
      for (const entry of zip.getEntries()) {
        const target = path.resolve(staging, entry.entryName);
        if (!target.startsWith(staging + path.sep))
          throw new Error(`zip entry escapes the code folder: ${entry.entryName}`);
        if (entry.isDirectory) {
          await mkdir(target, { recursive: true });
          continue;
        }
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, entry.getData(), { mode: 0o444 });
      }
    } else {
      const file = `${fn.handler.slice(0, fn.handler.lastIndexOf("."))}.js`;
      const target = path.resolve(staging, file);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, bytes, { mode: 0o444 });
    }
    await chmodTree(staging);
    await rename(staging, dir).catch(async (err: unknown) => {
      await rm(staging, { recursive: true, force: true });
      if (!(await exists(dir))) throw err;
    });
    return dir;
  }
}

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
    else await chmod(p, 0o444);
  }
}
