/**
 * The platform's AWS resources in the emulator, created through the SDK exactly as they would be
 * against AWS: a VPC with a public and a private subnet, the task queue with its dead-letter queue and
 * redrive policy, the code bucket, the function table, the controller's Elastic IP and the log groups
 * with the controller's Error metric filter (as deploy/terraform/data.tf defines them).
 * Everything is idempotent, so pointing at an emulator that already has them is fine.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutMetricFilterCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from "@aws-sdk/client-dynamodb";
import {
  AllocateAddressCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeAddressesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { RETRY_BACKOFF, waitFor } from "./wait";

/**
 * The controller's Error metric filter, the same as aws_cloudwatch_log_metric_filter.controller_errors
 * in deploy/terraform/data.tf (a unit test compares them): pino's level 50 (error) and 60 (fatal).
 */
export const CONTROLLER_ERROR_FILTER = {
  pattern: "{ $.level >= 50 }",
  metric: { metricNamespace: "FaaS", metricName: "ControllerErrorLines" },
} as const;

export interface CloudResources {
  queueUrl: string;
  dlqUrl: string;
  bucket: string;
  table: string;
  eipAllocationId: string;
  eipPublicIp: string;
  eipTag: string;
  publicSubnetId: string;
  privateSubnetId: string;
  /** Each role's log group, where its instances' agents ship (`/<prefix>/<role>`). */
  logGroups: { controller: string; worker: string };
}

export interface ResourceOptions {
  prefix: string;
  visibilityTimeoutS: number;
  maxReceiveCount: number;
}

export interface Clients {
  sqs: SQSClient;
  s3: S3Client;
  dynamo: DynamoDBClient;
  ec2: EC2Client;
  logs: CloudWatchLogsClient;
}

/**
 * The SDK clients the resources are made with. Endpoints and credentials as given, or as the SDK finds
 * them in the environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS: the container entries) when not.
 */
export function awsClients(
  config: {
    endpoint?: string;
    sqsEndpoint?: string;
    region?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
  } = {},
): Clients {
  const { sqsEndpoint, ...common } = config;
  return {
    ec2: new EC2Client(common),
    sqs: new SQSClient(sqsEndpoint === undefined ? common : { ...common, endpoint: sqsEndpoint }),
    s3: new S3Client({ ...common, forcePathStyle: true }),
    dynamo: new DynamoDBClient(common),
    logs: new CloudWatchLogsClient(common),
  };
}

export function destroyClients(c: Clients): void {
  for (const client of [c.ec2, c.sqs, c.s3, c.dynamo, c.logs]) client.destroy();
}

/**
 * Creates the resources, trying again while the emulator is still starting (one in a container may be
 * importing its services when it first accepts connections).
 */
export function ensureCloudResources(
  c: Clients,
  o: ResourceOptions,
  waitMs: number,
): Promise<CloudResources> {
  return waitFor("the cloud resources to be created", () => createCloudResources(c, o), {
    timeoutMs: waitMs,
    backoff: RETRY_BACKOFF,
  });
}

export async function createCloudResources(c: Clients, o: ResourceOptions): Promise<CloudResources> {
  const { publicSubnetId, privateSubnetId } = await ensureNetwork(c.ec2, o.prefix);

  const dlq = await c.sqs.send(
    new CreateQueueCommand({
      QueueName: `${o.prefix}-tasks-dlq`,
      Attributes: { MessageRetentionPeriod: "1209600" },
    }),
  );
  const dlqUrl = dlq.QueueUrl ?? "";
  const dlqArn = (
    await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes?.QueueArn;
  const queue = await c.sqs.send(
    new CreateQueueCommand({
      QueueName: `${o.prefix}-tasks`,
      Attributes: {
        VisibilityTimeout: String(o.visibilityTimeoutS),
        ReceiveMessageWaitTimeSeconds: "20",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: o.maxReceiveCount }),
      },
    }),
  );

  const bucket = `${o.prefix}-code`;
  await c.s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(ignore(/BucketAlready/));

  const table = `${o.prefix}-functions`;
  await c.dynamo
    .send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "name", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "name", KeyType: "HASH" }],
      }),
    )
    .catch((err: unknown) => {
      if (!(err instanceof ResourceInUseException)) throw err;
    });

  const eipTag = `${o.prefix}-controller`;
  const existing = await c.ec2.send(
    new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: [eipTag] }] }),
  );
  const address =
    existing.Addresses?.[0] ??
    (await c.ec2.send(
      new AllocateAddressCommand({
        Domain: "vpc",
        TagSpecifications: [{ ResourceType: "elastic-ip", Tags: [{ Key: "Name", Value: eipTag }] }],
      }),
    ));

  const logGroups = { controller: `/${o.prefix}/controller`, worker: `/${o.prefix}/worker` };
  for (const logGroupName of Object.values(logGroups)) {
    await c.logs.send(new CreateLogGroupCommand({ logGroupName })).catch(ignore(/AlreadyExists/));
  }
  // moto stores the filter and never evaluates it: `faas logs --errors` and the chaos report do
  // (emulator/cloudwatch/metric-filter.ts), reading it back from here.
  await c.logs.send(
    new PutMetricFilterCommand({
      logGroupName: logGroups.controller,
      filterName: `${o.prefix}-controller-errors`,
      filterPattern: CONTROLLER_ERROR_FILTER.pattern,
      metricTransformations: [{ ...CONTROLLER_ERROR_FILTER.metric, metricValue: "1", defaultValue: 0 }],
    }),
  );

  return {
    queueUrl: queue.QueueUrl ?? "",
    dlqUrl,
    bucket,
    table,
    eipAllocationId: address.AllocationId ?? "",
    eipPublicIp: address.PublicIp ?? "",
    eipTag,
    publicSubnetId,
    privateSubnetId,
    logGroups,
  };
}

async function ensureNetwork(
  ec2: EC2Client,
  prefix: string,
): Promise<{ publicSubnetId: string; privateSubnetId: string }> {
  const name = `${prefix}-vpc`;
  const found = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "tag:Name", Values: [name] }] }));
  let vpcId = found.Vpcs?.[0]?.VpcId;
  if (vpcId === undefined) {
    const vpc = await ec2.send(
      new CreateVpcCommand({
        CidrBlock: "10.0.0.0/16",
        TagSpecifications: [{ ResourceType: "vpc", Tags: [{ Key: "Name", Value: name }] }],
      }),
    );
    vpcId = vpc.Vpc?.VpcId ?? "";
  }
  const subnet = async (tier: string, cidr: string): Promise<string> => {
    const tag = `${prefix}-${tier}`;
    const existing = await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: "tag:Name", Values: [tag] }] }),
    );
    const id = existing.Subnets?.[0]?.SubnetId;
    if (id !== undefined) return id;
    const created = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: cidr,
        AvailabilityZone: "us-east-1a",
        TagSpecifications: [{ ResourceType: "subnet", Tags: [{ Key: "Name", Value: tag }] }],
      }),
    );
    return created.Subnet?.SubnetId ?? "";
  };
  return {
    publicSubnetId: await subnet("public", "10.0.1.0/24"),
    privateSubnetId: await subnet("private", "10.0.11.0/24"),
  };
}

const ignore = (pattern: RegExp) => (err: unknown) => {
  if (!pattern.test(String((err as { name?: string }).name) + String(err))) throw err;
};
