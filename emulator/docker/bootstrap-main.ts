/**
 * One-shot: creates the platform's AWS resources (VPC, subnets, queues, bucket, table, Elastic IP, log
 * groups) in the AWS emulator the container reaches through AWS_ENDPOINT_URL, prints them as one JSON
 * line and exits. Idempotent, so running it against a prepared emulator is harmless.
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createCloudResources } from "../cloud-resources";
import { loadBootstrapConfig } from "./config";
import { RETRY_BACKOFF, waitFor } from "../wait";

async function main(): Promise<void> {
  const config = loadBootstrapConfig();
  const clients = {
    ec2: new EC2Client({}),
    sqs: new SQSClient({}),
    s3: new S3Client({ forcePathStyle: true }),
    dynamo: new DynamoDBClient({}),
    logs: new CloudWatchLogsClient({}),
  };
  const resources = await waitFor(
    "the cloud resources to be created",
    () =>
      createCloudResources(clients, {
        prefix: config.prefix,
        visibilityTimeoutS: config.visibilityTimeoutS,
        maxReceiveCount: config.maxReceiveCount,
      }),
    { timeoutMs: config.waitMs, backoff: RETRY_BACKOFF },
  );
  process.stdout.write(`${JSON.stringify({ bootstrap: "done", ...resources })}\n`);
  for (const client of Object.values(clients)) client.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`bootstrap failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
