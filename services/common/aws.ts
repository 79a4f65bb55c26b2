/**
 * AWS clients. The SDK reads region, credentials and AWS_ENDPOINT_URL from the environment itself, so
 * the same code talks to AWS or to the local emulator with nothing but environment changes.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { Agent } from "node:http";
import { SqsWire } from "./sqs-wire";

const requestHandler = () =>
  new NodeHttpHandler({
    httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
    connectionTimeout: 2000,
    requestTimeout: 30_000,
  });

export const awsClients = () => {
  const sqs = new SQSClient({ requestHandler: requestHandler(), maxAttempts: 2 });
  return {
    sqs,
    /** The calls on every invocation's path, signed with `sqs`'s credentials (sqs-wire.ts). */
    sqsWire: new SqsWire(sqs),
    s3: new S3Client({ requestHandler: requestHandler(), forcePathStyle: true }),
    dynamo: new DynamoDBClient({ requestHandler: requestHandler() }),
    ec2: new EC2Client({ requestHandler: requestHandler() }),
  };
};
