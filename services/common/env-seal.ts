/**
 * A function's env vars travel inside every queued task; sealing keeps them out of reach of whoever
 * can read the queue (a console user, a debugging script, a leaked SQS credential). AES-256-GCM with
 * a key that only the controller (which seals) and the workers (which open) hold, and the invocation
 * id, function name and version as associated data: a sealed env cannot be replayed into another
 * task or version without the open failing.
 *
 * The key is `FAAS_ENV_KEY`, any secret of 32 or more characters (hashed to 256 bits). `make dev`
 * generates one per environment; on AWS it comes from SSM Parameter Store (deploy/README.md says why
 * not KMS).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { z } from "zod";

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Built once: a zod schema costs more to build than to run. */
const ENV_VARS = z.record(z.string(), z.string());

export interface SealContext {
  invocationId: string;
  functionName: string;
  version: number;
}

export class EnvSealError extends Error {
  override readonly name = "EnvSealError";
}

export class EnvSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) throw new EnvSealError("the env key must be at least 32 characters");
    this.key = createHash("sha256").update(secret, "utf8").digest();
  }

  seal(env: Record<string, string>, context: SealContext): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(aad(context));
    const body = Buffer.concat([cipher.update(JSON.stringify(env), "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  /** The env vars, or an EnvSealError when the key, the context or the bytes do not match. */
  open(sealed: string, context: SealContext): Record<string, string> {
    const bytes = Buffer.from(sealed, "base64");
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new EnvSealError("the sealed env is truncated");
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const json = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
      return ENV_VARS.parse(JSON.parse(json));
    } catch (err) {
      throw new EnvSealError(
        `the sealed env does not open with this worker's env key for this invocation (${(err as Error).message})`,
      );
    }
  }
}

function aad(c: SealContext): Buffer {
  return Buffer.from(JSON.stringify([c.invocationId, c.functionName, c.version]), "utf8");
}
