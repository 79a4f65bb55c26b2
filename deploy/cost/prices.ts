/**
 * The price table behind `faas cost`: on-demand Linux prices, 730 hours a month. The us-east-1 figures
 * for t3.micro, t4g.nano, NAT gateway, interface endpoints, cache.t3.micro and public IPv4 are the
 * ones of the original design's estimate; the rest are from AWS's public price pages and were not re-checked offline.
 * Another region is one more entry here; an unknown region is an error, never a silent guess.
 */
export const HOURS_PER_MONTH = 730;

export interface PriceTable {
  region: string;
  /** USD per instance-hour. */
  ec2Hourly: Readonly<Record<string, number>>;
  /** USD per node-hour. */
  cacheHourly: Readonly<Record<string, number>>;
  natGatewayHourly: number;
  natGatewayPerGb: number;
  interfaceEndpointHourlyPerAz: number;
  interfaceEndpointPerGb: number;
  /** Every public IPv4 address, an attached Elastic IP included, since February 2024. */
  publicIpv4Hourly: number;
  /** ALB/NLB fixed hourly charge, before capacity units. */
  loadBalancerHourly: number;
  /** USD per GB-month by EBS volume type. */
  ebsGbMonth: Readonly<Record<string, number>>;
  cloudwatchAlarmMonthly: number;
  logsIngestionPerGb: number;
}

const US_EAST_1: PriceTable = {
  region: "us-east-1",
  ec2Hourly: {
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t4g.nano": 0.0042,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
  },
  cacheHourly: {
    "cache.t3.micro": 0.017,
    "cache.t4g.micro": 0.016,
    "cache.t3.small": 0.034,
    "cache.t4g.small": 0.032,
  },
  natGatewayHourly: 0.045,
  natGatewayPerGb: 0.045,
  interfaceEndpointHourlyPerAz: 0.01,
  interfaceEndpointPerGb: 0.01,
  publicIpv4Hourly: 0.005,
  loadBalancerHourly: 0.0225,
  ebsGbMonth: { gp3: 0.08, gp2: 0.1 },
  cloudwatchAlarmMonthly: 0.1,
  logsIngestionPerGb: 0.5,
};

const TABLES: Readonly<Record<string, PriceTable>> = { "us-east-1": US_EAST_1 };

export class CostError extends Error {
  override readonly name = "CostError";
}

export function priceTable(region: string): PriceTable {
  const table = TABLES[region];
  if (table === undefined) {
    throw new CostError(
      `no price table for region ${region} (known: ${Object.keys(TABLES).join(", ")}); add one to deploy/cost/prices.ts`,
    );
  }
  return table;
}

/** The original design's estimate, as it was published. */
export const ORIGINAL_ESTIMATE: readonly { item: string; monthlyUsd: number; covers: readonly Category[] }[] =
  [
    { item: "EC2", monthlyUsd: 16, covers: ["compute"] },
    { item: "VPC endpoints", monthlyUsd: 7, covers: ["endpoint"] },
  ];

export type Category =
  | "compute"
  | "storage"
  | "endpoint"
  | "nat"
  | "public-ipv4"
  | "cache"
  | "load-balancer"
  | "monitoring"
  | "usage";

export const CATEGORY_NAMES: Readonly<Record<Category, string>> = {
  compute: "EC2 instances",
  storage: "EBS root volumes",
  endpoint: "VPC interface endpoints",
  nat: "NAT gateways",
  "public-ipv4": "public IPv4 addresses (the Elastic IP)",
  cache: "ElastiCache Redis",
  "load-balancer": "load balancers",
  monitoring: "CloudWatch alarms",
  usage: "usage-billed services (SQS, S3, DynamoDB, Logs ingestion, endpoint data)",
};
