/** Unit tests of the price logic behind `faas cost`: no Terraform, no servers. */
import { expect } from "chai";
import { estimate, parsePlan, Plan } from "../../deploy/cost/estimate";
import { CostError, priceTable } from "../../deploy/cost/prices";
import { formatReport, leftOutOfOriginalEstimate } from "../../deploy/cost/report";

const resource = (address: string, values: Record<string, unknown>) => ({
  address,
  mode: "managed",
  type: address.split(".")[0]!,
  name: address.split(".")[1]!,
  values,
});

function plan(
  resources: ReturnType<typeof resource>[],
  config: { address: string; expressions: object }[] = [],
): Plan {
  return parsePlan(
    JSON.stringify({
      format_version: "1.2",
      planned_values: { root_module: { resources } },
      configuration: { root_module: { resources: config } },
    }),
  );
}

const prices = priceTable("us-east-1");

describe("faas cost: the estimate", () => {
  it("prices an ASG by its desired capacity and its launch template's type and root volume", () => {
    const p = plan(
      [
        resource("aws_launch_template.worker", {
          instance_type: "t4g.nano",
          block_device_mappings: [{ ebs: [{ volume_size: 8, volume_type: "gp3" }] }],
        }),
        resource("aws_autoscaling_group.workers", { desired_capacity: 2, min_size: 1, max_size: 3 }),
      ],
      [
        {
          address: "aws_autoscaling_group.workers",
          expressions: {
            launch_template: [
              { id: { references: ["aws_launch_template.worker.id", "aws_launch_template.worker"] } },
            ],
          },
        },
      ],
    );
    const lines = estimate(p, prices).lines;
    expect(lines.map((l) => [l.category, l.monthlyUsd])).to.deep.equal([
      ["compute", 6.13],
      ["storage", 1.28],
    ]);
  });

  it("finds an applied ASG's launch template by id", () => {
    const p = plan([
      resource("aws_launch_template.c", { id: "lt-1", instance_type: "t3.micro" }),
      resource("aws_autoscaling_group.c", { desired_capacity: 1, launch_template: [{ id: "lt-1" }] }),
    ]);
    expect(estimate(p, prices).lines[0]!.monthlyUsd).to.equal(7.59);
  });

  it("uses the design's prices: NAT, interface endpoints per AZ, free gateways, IPv4, Redis", () => {
    const p = plan([
      resource("aws_nat_gateway.a", {}),
      resource("aws_vpc_endpoint.sqs", {
        vpc_endpoint_type: "Interface",
        service_name: "com.amazonaws.us-east-1.sqs",
        subnet_ids: ["a", "b"],
      }),
      resource("aws_vpc_endpoint.s3", {
        vpc_endpoint_type: "Gateway",
        service_name: "com.amazonaws.us-east-1.s3",
      }),
      resource("aws_eip.c", {}),
      resource("aws_elasticache_cluster.r", { node_type: "cache.t3.micro", num_cache_nodes: 1 }),
    ]);
    const result = estimate(p, prices);
    expect(result.lines.map((l) => l.monthlyUsd)).to.deep.equal([32.85, 14.6, 0, 3.65, 12.41]);
    expect(result.totalUsd).to.equal(63.51);
  });

  it("prices a Redis replication group per node (cache.t3.micro $0.017/h), its secrets in SSM as free", () => {
    const p = plan([
      resource("aws_elasticache_replication_group.redis", {
        node_type: "cache.t3.micro",
        num_cache_clusters: 1,
        transit_encryption_enabled: true,
      }),
      resource("aws_elasticache_replication_group.pair", {
        node_type: "cache.t3.micro",
        num_cache_clusters: 2,
      }),
      resource("aws_ssm_parameter.env_key", { type: "SecureString" }),
    ]);
    const lines = estimate(p, prices).lines;
    expect(lines.map((l) => [l.address, l.category, l.monthlyUsd, l.detail])).to.deep.equal([
      ["aws_elasticache_replication_group.redis", "cache", 12.41, "1 × cache.t3.micro"],
      ["aws_elasticache_replication_group.pair", "cache", 24.82, "2 × cache.t3.micro"],
    ]);
  });

  it("lists usage-billed resources at $0 and ignores free plumbing", () => {
    const p = plan([
      resource("aws_sqs_queue.q", {}),
      resource("aws_vpc.main", {}),
      resource("aws_iam_role.r", {}),
    ]);
    const lines = estimate(p, prices).lines;
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ address: "aws_sqs_queue.q", category: "usage", monthlyUsd: 0 });
  });

  it("skips data sources and looks into child modules", () => {
    const p = parsePlan(
      JSON.stringify({
        format_version: "1.2",
        planned_values: {
          root_module: {
            resources: [{ address: "data.aws_ami.x", mode: "data", type: "aws_ami", values: {} }],
            child_modules: [{ resources: [resource("aws_eip.m", {})] }],
          },
        },
      }),
    );
    expect(estimate(p, prices).lines.map((l) => l.address)).to.deep.equal(["aws_eip.m"]);
  });

  it("refuses unknown regions and unknown instance types instead of guessing", () => {
    expect(() => priceTable("eu-west-9")).to.throw(CostError, /no price table for region eu-west-9/);
    const p = plan([
      resource("aws_elasticache_cluster.r", { node_type: "cache.r7g.large", num_cache_nodes: 1 }),
    ]);
    expect(() => estimate(p, prices)).to.throw(CostError, /cache\.r7g\.large/);
  });

  it("rejects input that is not a JSON plan with the command that makes one", () => {
    expect(() => parsePlan("nope")).to.throw(CostError, /terraform show -json/);
    expect(() => parsePlan("{}")).to.throw(CostError, /not a Terraform JSON plan/);
  });
});

describe("faas cost: the report", () => {
  const p = plan([
    resource("aws_instance.c", {
      instance_type: "t3.micro",
      root_block_device: [{ volume_size: 8, volume_type: "gp3" }],
    }),
    resource("aws_vpc_endpoint.sqs", {
      vpc_endpoint_type: "Interface",
      service_name: "sqs",
      subnet_ids: ["a"],
    }),
    resource("aws_eip.c", {}),
    resource("aws_elasticache_cluster.r", { node_type: "cache.t3.micro", num_cache_nodes: 1 }),
    resource("aws_sqs_queue.q", {}),
  ]);
  const result = estimate(p, prices);

  it("names what the original design's estimate (EC2 + endpoints) left out", () => {
    expect(leftOutOfOriginalEstimate(result).map((i) => i.category)).to.deep.equal([
      "storage",
      "public-ipv4",
      "cache",
      "usage",
    ]);
  });

  it("prints each resource, the total, the original design's estimate and the omissions", () => {
    const text = formatReport(result);
    expect(text).to.match(/aws_elasticache_cluster\.r\s+\$12\.41/);
    expect(text).to.match(/TOTAL\s+\$\d+\.\d\d/);
    expect(text).to.contain("The original design's estimate");
    expect(text).to.match(/TOTAL\s+~\$23\.00/);
    expect(text).to.contain("Left out of the original design's estimate");
    expect(text).not.to.match(/seed/i);
    expect(text).to.contain("ElastiCache Redis: $12.41");
    expect(text).to.contain("public IPv4 addresses (the Elastic IP): $3.65");
  });
});
