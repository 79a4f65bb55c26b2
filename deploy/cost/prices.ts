/**
 * The price table behind `faas cost`: on-demand Linux prices, 730 hours a month. The us-east-1 figures
 * for t3.micro, t4g.nano, NAT gateway, interface endpoints, cache.t3.micro and public IPv4 are the
 * ones of the original design's estimate; the rest, and all of ap-northeast-2 (Seoul, where the
 * original deployment's Elastic IP was), are from AWS's public price pages and were not re-checked
 * offline (no price API is reachable here): `verified` says which. Another region is one more entry
 * here; an unknown region, node type or instance type is an error, never a silent guess.
 */
export const HOURS_PER_MONTH = 730;

export interface PriceTable {
  region: string;
  /** Where the figures come from, printed under the estimate. */
  source: string;
  /** USD per instance-hour. */
  ec2Hourly: Readonly<Record<string, number>>;
  /** USD per node-hour, Redis (and Memcached) engine. */
  cacheHourly: Readonly<Record<string, number>>;
  /** ElastiCache bills Valkey nodes this share of the Redis price (20 % lower). */
  valkeyNodeFactor: number;
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
  source:
    "t3.micro, t4g.nano, NAT, interface endpoints, cache.t3.micro and public IPv4 as in the original design; the rest from AWS's price pages, not re-checked offline",
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
  valkeyNodeFactor: 0.8,
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

const AP_NORTHEAST_2: PriceTable = {
  region: "ap-northeast-2",
  source: "AWS's price pages for Asia Pacific (Seoul), not re-checked offline: verify before relying on them",
  ec2Hourly: {
    "t3.nano": 0.0065,
    "t3.micro": 0.013,
    "t3.small": 0.026,
    "t3.medium": 0.052,
    "t4g.nano": 0.0052,
    "t4g.micro": 0.0104,
    "t4g.small": 0.0208,
    "t4g.medium": 0.0416,
  },
  cacheHourly: {
    "cache.t3.micro": 0.025,
    "cache.t4g.micro": 0.024,
    "cache.t3.small": 0.05,
    "cache.t4g.small": 0.047,
  },
  valkeyNodeFactor: 0.8,
  natGatewayHourly: 0.059,
  natGatewayPerGb: 0.059,
  interfaceEndpointHourlyPerAz: 0.013,
  interfaceEndpointPerGb: 0.01,
  publicIpv4Hourly: 0.005,
  loadBalancerHourly: 0.0225,
  ebsGbMonth: { gp3: 0.0912, gp2: 0.114 },
  cloudwatchAlarmMonthly: 0.1,
  logsIngestionPerGb: 0.76,
};

const TABLES: Readonly<Record<string, PriceTable>> = {
  "us-east-1": US_EAST_1,
  "ap-northeast-2": AP_NORTHEAST_2,
};

export const PRICED_REGIONS: readonly string[] = Object.keys(TABLES);

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
