/**
 * Function code in S3 under its content hash (`code/<sha256>`), so identical code is stored once and a
 * version can never change under a running invocation; metadata in DynamoDB, one item per function,
 * written with a condition on the previous version so two concurrent deploys cannot both win.
 *
 * The SDK's errors become the controller's here (errors.ts), by class, name and status: a lost
 * conditional write is a ConflictError, a service that cannot be reached (a socket error, a timeout,
 * a 503) a StoreUnavailableError. Anything else is a fault and passes through as it is (a 500).
 */
import { createHash } from "node:crypto";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { DeployFunctionRequest, FunctionRecord } from "../../contracts";
import { FunctionStore } from "./function-store";
import { ConflictError, InvalidRequestError, isNetworkError, StoreUnavailableError } from "./errors";

export class AwsFunctionStore implements FunctionStore {
  private readonly docs: DynamoDBDocumentClient;

  constructor(
    private readonly s3: S3Client,
    dynamo: DynamoDBClient,
    private readonly bucket: string,
    private readonly table: string,
  ) {
    this.docs = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  }

  async put(
    name: string,
    request: DeployFunctionRequest,
  ): Promise<{ record: FunctionRecord; changed: boolean }> {
    const code =
      request.zip !== undefined
        ? Buffer.from(request.zip, "base64")
        : Buffer.from(request.source ?? "", "utf8");
    if (request.zip !== undefined && !isZip(code)) {
      throw new InvalidRequestError("'zip' is not a base64-encoded zip archive");
    }
    const codeSha256 = createHash("sha256").update(code).digest("hex");
    const codeFormat = request.zip !== undefined ? "zip" : "source";
    const codeKey = `code/${codeSha256}.${codeFormat === "zip" ? "zip" : "js"}`;

    const previous = await this.get(name);
    const sameConfig =
      previous !== undefined &&
      previous.codeSha256 === codeSha256 &&
      previous.handler === request.handler &&
      previous.timeoutMs === request.timeoutMs &&
      previous.memoryMb === request.memoryMb &&
      previous.maxConcurrency === request.maxConcurrency &&
      JSON.stringify(sortKeys(previous.env)) === JSON.stringify(sortKeys(request.env));
    if (previous !== undefined && sameConfig) return { record: previous, changed: false };

    if (!(await this.hasObject(codeKey))) {
      await this.s3
        .send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: codeKey,
            Body: code,
            ContentType: codeFormat === "zip" ? "application/zip" : "application/javascript",
            Metadata: { sha256: codeSha256 },
          }),
        )
        .catch(rethrowAsStoreError);
    }
    const now = new Date().toISOString();
    const record: FunctionRecord = {
      name,
      version: (previous?.version ?? 0) + 1,
      codeSha256,
      codeKey,
      codeFormat,
      codeSize: code.length,
      handler: request.handler,
      timeoutMs: request.timeoutMs,
      memoryMb: request.memoryMb,
      env: request.env,
      maxConcurrency: request.maxConcurrency,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    try {
      await this.docs.send(
        new PutCommand({
          TableName: this.table,
          Item: record,
          ConditionExpression: previous === undefined ? "attribute_not_exists(#n)" : "#v = :previousVersion",
          ExpressionAttributeNames: previous === undefined ? { "#n": "name" } : { "#v": "version" },
          ExpressionAttributeValues:
            previous === undefined ? undefined : { ":previousVersion": previous.version },
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        throw new ConflictError(`function '${name}' was changed by a concurrent deploy; try again`);
      }
      rethrowAsStoreError(err);
    }
    return { record, changed: true };
  }

  async get(name: string): Promise<FunctionRecord | undefined> {
    const out = await this.docs
      .send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }))
      .catch(rethrowAsStoreError);
    return out.Item === undefined ? undefined : FunctionRecord.parse(out.Item);
  }

  async list(): Promise<FunctionRecord[]> {
    const records: FunctionRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.docs
        .send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: startKey }))
        .catch(rethrowAsStoreError);
      for (const item of page.Items ?? []) records.push(FunctionRecord.parse(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return records.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Code objects stay in S3: other versions or functions may share them (content-addressed). */
  async delete(name: string): Promise<boolean> {
    const out = await this.docs
      .send(new DeleteCommand({ TableName: this.table, Key: { name }, ReturnValues: "ALL_OLD" }))
      .catch(rethrowAsStoreError);
    return out.Attributes !== undefined;
  }

  private async hasObject(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 404) return false;
      rethrowAsStoreError(err);
    }
  }
}

/** Names the SDK gives a 503 from S3 or DynamoDB when the error is not modelled by the service. */
const UNAVAILABLE_NAMES = new Set(["ServiceUnavailable", "ServiceUnavailableException"]);

function rethrowAsStoreError(err: unknown): never {
  const unreachable =
    isNetworkError(err) ||
    httpStatusOf(err) === 503 ||
    UNAVAILABLE_NAMES.has((err as { name?: string } | undefined)?.name ?? "");
  if (!unreachable) throw err;
  throw new StoreUnavailableError(`a backing service is unreachable: ${String(err)}`, { cause: err });
}

function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isZip(buffer: Buffer): boolean {
  return buffer.length >= 4 && buffer.readUInt32LE(0) === 0x04034b50;
}

function sortKeys(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}
