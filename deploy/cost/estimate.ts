/**
 * The monthly estimate of a Terraform plan (`terraform show -json plan`), resource by resource. Pure:
 * the plan and the price table in, lines out. Usage-billed resources (SQS, S3, DynamoDB, log
 * ingestion) appear with $0 fixed cost and a note, so nothing in the plan is silently dropped.
 */
import { z } from "zod";
import { Category, CostError, HOURS_PER_MONTH, PriceTable } from "./prices";

const resourceSchema = z.looseObject({
  address: z.string(),
  mode: z.string(),
  type: z.string(),
  values: z.record(z.string(), z.unknown()).nullable().optional(),
});
type PlanResource = z.infer<typeof resourceSchema>;

interface PlanModule {
  resources?: PlanResource[];
  child_modules?: PlanModule[];
}
const moduleSchema: z.ZodType<PlanModule> = z.lazy(() =>
  z.looseObject({
    resources: z.array(resourceSchema).optional(),
    child_modules: z.array(moduleSchema).optional(),
  }),
);

const configResourceSchema = z.looseObject({
  address: z.string(),
  expressions: z.record(z.string(), z.unknown()).optional(),
});

export const planSchema = z.looseObject({
  format_version: z.string(),
  planned_values: z.looseObject({ root_module: moduleSchema }),
  configuration: z
    .looseObject({
      root_module: z.looseObject({ resources: z.array(configResourceSchema).optional() }).optional(),
    })
    .optional(),
});
export type Plan = z.infer<typeof planSchema>;

export function parsePlan(json: string): Plan {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new CostError(`the plan is not JSON (${String(err)}); make it with: terraform show -json plan.out`);
  }
  const parsed = planSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CostError(
      `not a Terraform JSON plan (${parsed.error.issues[0]?.message ?? "?"}); make it with: terraform show -json plan.out`,
    );
  }
  return parsed.data;
}

export interface CostLine {
  address: string;
  type: string;
  category: Category;
  monthlyUsd: number;
  detail: string;
}

export interface Estimate {
  region: string;
  lines: CostLine[];
  totalUsd: number;
}

/** Resource types that cost nothing by themselves (VPC plumbing, IAM, SSM standard parameters, ...). */
const FREE = new Set([
  "aws_vpc",
  "aws_subnet",
  "aws_internet_gateway",
  "aws_route",
  "aws_route_table",
  "aws_route_table_association",
  "aws_security_group",
  "aws_vpc_security_group_ingress_rule",
  "aws_vpc_security_group_egress_rule",
  "aws_security_group_rule",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_policy",
  "aws_iam_role_policy_attachment",
  "aws_iam_instance_profile",
  "aws_launch_template",
  "aws_elasticache_subnet_group",
  "aws_ssm_parameter",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_cloudwatch_log_metric_filter",
  "aws_sqs_queue_redrive_policy",
  "aws_sqs_queue_redrive_allow_policy",
]);

const USAGE_NOTES: Readonly<Record<string, string>> = {
  aws_sqs_queue: "per request: $0.40 per million after the free million",
  aws_s3_bucket: "per GB stored and per request",
  aws_s3_object: "per GB stored and per request (a few bytes)",
  aws_dynamodb_table: "on demand: per request and per GB stored",
  aws_cloudwatch_log_group: "per GB ingested ($0.50) and stored",
  aws_route53_record: "per million queries ($0.40); the hosted zone ($0.50 a month) is yours",
};

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const first = (v: unknown): Record<string, unknown> | undefined =>
  Array.isArray(v) && typeof v[0] === "object" && v[0] !== null
    ? (v[0] as Record<string, unknown>)
    : undefined;
const money = (usd: number) => Math.round(usd * 100) / 100;

function allResources(module: PlanModule): PlanResource[] {
  return [...(module.resources ?? []), ...(module.child_modules ?? []).flatMap(allResources)];
}

/**
 * How many AZs an interface endpoint is billed for: one ENI per subnet. Before apply the subnet ids
 * are unknown (a plan omits them), so the configuration tags each endpoint with its AZs, known at plan
 * time (deploy/terraform/network.tf). Neither known: an error, never a guess of one.
 */
function interfaceEndpointAzs(r: PlanResource): number {
  const v = r.values ?? {};
  if (Array.isArray(v.subnet_ids) && v.subnet_ids.length > 0) return v.subnet_ids.length;
  const tags = v.tags;
  const azs =
    typeof tags === "object" && tags !== null
      ? str((tags as Record<string, unknown>).AvailabilityZones)
      : undefined;
  if (azs !== undefined && azs !== "") return azs.split(",").length;
  throw new CostError(
    `cannot tell how many AZs ${r.address} spans: its subnet_ids are unknown in this plan and it has no AvailabilityZones tag`,
  );
}

/** `aws_x.y[0]` and `aws_x.y["a"]` are configured by the block `aws_x.y`. */
const configAddress = (address: string) => address.replace(/\[[^\]]*\]$/, "");

export function estimate(plan: Plan, prices: PriceTable): Estimate {
  const resources = allResources(plan.planned_values.root_module).filter((r) => r.mode === "managed");
  const config = new Map(
    (plan.configuration?.root_module?.resources ?? []).map((r) => [r.address, r.expressions ?? {}]),
  );
  const byAddress = new Map(resources.map((r) => [r.address, r]));

  const hourly = (table: Readonly<Record<string, number>>, key: string, what: string): number => {
    const price = table[key];
    if (price === undefined) {
      throw new CostError(`no ${prices.region} price for ${what} ${key}; add it to deploy/cost/prices.ts`);
    }
    return price;
  };
  const ebsMonthly = (bdm: unknown): { usd: number; detail: string } => {
    const ebs = first(first(bdm)?.ebs);
    const gb = num(ebs?.volume_size) ?? 8;
    const type = str(ebs?.volume_type) ?? "gp3";
    return { usd: gb * hourly(prices.ebsGbMonth, type, "EBS volume type"), detail: `${gb} GB ${type}` };
  };
  /** The launch template an ASG uses: by reference in the configuration, or by id once applied. */
  const launchTemplateOf = (asg: PlanResource): PlanResource | undefined => {
    const idExpression = first(config.get(configAddress(asg.address))?.launch_template)?.id;
    const refs =
      typeof idExpression === "object" && idExpression !== null
        ? (idExpression as { references?: unknown }).references
        : undefined;
    if (Array.isArray(refs)) {
      for (const ref of refs) {
        const hit = typeof ref === "string" ? byAddress.get(ref.replace(/\.id$/, "")) : undefined;
        if (hit?.type === "aws_launch_template") return hit;
      }
    }
    const id = str(first(asg.values?.launch_template)?.id);
    return resources.find((r) => r.type === "aws_launch_template" && id !== undefined && r.values?.id === id);
  };

  const lines: CostLine[] = [];
  const add = (r: PlanResource, category: Category, monthlyUsd: number, detail: string) =>
    lines.push({ address: r.address, type: r.type, category, monthlyUsd: money(monthlyUsd), detail });

  for (const r of resources) {
    const v = r.values ?? {};
    switch (r.type) {
      case "aws_instance": {
        const type = str(v.instance_type) ?? "?";
        add(r, "compute", hourly(prices.ec2Hourly, type, "instance type") * HOURS_PER_MONTH, `1 × ${type}`);
        const disk = ebsMonthly(v.root_block_device);
        add(r, "storage", disk.usd, `root volume ${disk.detail}`);
        break;
      }
      case "aws_autoscaling_group": {
        const count = num(v.desired_capacity) ?? num(v.min_size) ?? 0;
        const template = launchTemplateOf(r);
        if (template === undefined) throw new CostError(`cannot find the launch template of ${r.address}`);
        const type = str(template.values?.instance_type) ?? "?";
        const each = hourly(prices.ec2Hourly, type, "instance type") * HOURS_PER_MONTH;
        add(
          r,
          "compute",
          count * each,
          `${count} × ${type} (desired capacity, max ${num(v.max_size) ?? "?"})`,
        );
        const disk = ebsMonthly(template.values?.block_device_mappings);
        add(r, "storage", count * disk.usd, `${count} × ${disk.detail} root volume`);
        break;
      }
      case "aws_nat_gateway":
        add(r, "nat", prices.natGatewayHourly * HOURS_PER_MONTH, `+ $${prices.natGatewayPerGb}/GB processed`);
        break;
      case "aws_vpc_endpoint": {
        const kind = str(v.vpc_endpoint_type) ?? "Gateway";
        const service = str(v.service_name) ?? "?";
        if (kind === "Gateway") {
          add(r, "endpoint", 0, `gateway endpoint ${service}: free`);
        } else {
          const azs = interfaceEndpointAzs(r);
          add(
            r,
            "endpoint",
            azs * prices.interfaceEndpointHourlyPerAz * HOURS_PER_MONTH,
            `interface ${service} in ${azs} AZ${azs === 1 ? "" : "s"} + $${prices.interfaceEndpointPerGb}/GB`,
          );
        }
        break;
      }
      case "aws_eip":
        add(r, "public-ipv4", prices.publicIpv4Hourly * HOURS_PER_MONTH, "public IPv4, attached or not");
        break;
      case "aws_elasticache_cluster": {
        const type = str(v.node_type) ?? "?";
        const nodes = num(v.num_cache_nodes) ?? 1;
        add(
          r,
          "cache",
          nodes * hourly(prices.cacheHourly, type, "node type") * HOURS_PER_MONTH,
          `${nodes} × ${type}`,
        );
        break;
      }
      case "aws_elasticache_replication_group": {
        const type = str(v.node_type) ?? "?";
        const nodes = num(v.num_cache_clusters) ?? 1;
        const engine = str(v.engine) ?? "redis";
        const factor = engine === "valkey" ? prices.valkeyNodeFactor : 1;
        add(
          r,
          "cache",
          nodes * hourly(prices.cacheHourly, type, "node type") * factor * HOURS_PER_MONTH,
          `${nodes} × ${type} ${engine}`,
        );
        break;
      }
      case "aws_lb":
      case "aws_alb":
        add(r, "load-balancer", prices.loadBalancerHourly * HOURS_PER_MONTH, "+ capacity units");
        break;
      case "aws_ebs_volume": {
        const gb = num(v.size) ?? 0;
        const type = str(v.type) ?? "gp3";
        add(r, "storage", gb * hourly(prices.ebsGbMonth, type, "EBS volume type"), `${gb} GB ${type}`);
        break;
      }
      case "aws_cloudwatch_metric_alarm":
        add(r, "monitoring", prices.cloudwatchAlarmMonthly, "standard-resolution alarm");
        break;
      default: {
        const note = USAGE_NOTES[r.type];
        if (note !== undefined) add(r, "usage", 0, note);
        else if (!FREE.has(r.type)) add(r, "usage", 0, "not priced by this table");
      }
    }
  }
  const totalUsd = money(lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  return { region: prices.region, lines, totalUsd };
}
