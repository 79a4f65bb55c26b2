/** Unit tests of the price logic behind `faas cost`: no Terraform, no servers. */
import { expect } from "chai";
import { estimate, parsePlan, Plan } from "../../deploy/cost/estimate";
import { CostError, PRICED_REGIONS, priceTable } from "../../deploy/cost/prices";
import { loadProfile, parseProfile } from "../../deploy/cost/profiles";
import { formatOptions, formatReport, leftOutOfOriginalEstimate } from "../../deploy/cost/report";
import { repoRoot } from "./terraform-cli";

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

  it("bills an interface endpoint per AZ from its AvailabilityZones tag when a plan does not know its subnets", () => {
    const endpoint = (address: string, values: Record<string, unknown>) =>
      resource(address, {
        vpc_endpoint_type: "Interface",
        service_name: "com.amazonaws.us-east-1.sqs",
        ...values,
      });
    const p = plan([
      endpoint("aws_vpc_endpoint.two", { tags: { AvailabilityZones: "us-east-1a,us-east-1b" } }),
      endpoint("aws_vpc_endpoint.one", { tags: { AvailabilityZones: "us-east-1a" } }),
      endpoint("aws_vpc_endpoint.applied", {
        subnet_ids: ["s-1", "s-2", "s-3"],
        tags: { AvailabilityZones: "x" },
      }),
    ]);
    expect(estimate(p, prices).lines.map((l) => [l.monthlyUsd, l.detail])).to.deep.equal([
      [14.6, "interface com.amazonaws.us-east-1.sqs in 2 AZs + $0.01/GB"],
      [7.3, "interface com.amazonaws.us-east-1.sqs in 1 AZ + $0.01/GB"],
      [21.9, "interface com.amazonaws.us-east-1.sqs in 3 AZs + $0.01/GB"],
    ]);
    // Neither subnets nor the tag: an error, not a bill for one AZ.
    expect(() => estimate(plan([endpoint("aws_vpc_endpoint.blind", {})]), prices)).to.throw(
      CostError,
      /cannot tell how many AZs aws_vpc_endpoint\.blind spans/,
    );
  });

  it("bills a Valkey node 20 % below the Redis price of its type", () => {
    const p = plan([
      resource("aws_elasticache_replication_group.v", { node_type: "cache.t4g.micro", engine: "valkey" }),
      resource("aws_elasticache_replication_group.r", { node_type: "cache.t4g.micro", engine: "redis" }),
    ]);
    expect(estimate(p, prices).lines.map((l) => l.monthlyUsd)).to.deep.equal([9.34, 11.68]);
  });

  it("has a price table for us-east-1 and ap-northeast-2 with the same keys, each saying where it comes from", () => {
    expect(PRICED_REGIONS).to.include.members(["us-east-1", "ap-northeast-2"]);
    const east = priceTable("us-east-1");
    const seoul = priceTable("ap-northeast-2");
    expect(Object.keys(seoul.ec2Hourly)).to.have.members(Object.keys(east.ec2Hourly));
    expect(Object.keys(seoul.cacheHourly)).to.have.members(Object.keys(east.cacheHourly));
    expect(seoul.source).to.contain("not re-checked offline");
    const p = plan([resource("aws_eip.c", {}), resource("aws_instance.i", { instance_type: "t3.micro" })]);
    expect(estimate(p, seoul).lines.map((l) => l.monthlyUsd)).to.deep.equal([3.65, 9.49, 0.73]);
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
      ["aws_elasticache_replication_group.redis", "cache", 12.41, "1 × cache.t3.micro redis"],
      ["aws_elasticache_replication_group.pair", "cache", 24.82, "2 × cache.t3.micro redis"],
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

describe("faas cost: profiles and options", () => {
  it("reads each setting of a profile with its one-line trade-off, and refuses a setting without one", () => {
    const p = parseProfile("x", "x.tfvars", '# comment\n\na = "b"  # cheaper, slower\nc = 2 # fewer\n');
    expect(p.settings).to.deep.equal([
      { variable: "a", value: '"b"', tradeOff: "cheaper, slower" },
      { variable: "c", value: "2", tradeOff: "fewer" },
    ]);
    expect(() => parseProfile("x", "x.tfvars", 'a = "b"\n')).to.throw(
      CostError,
      /x\.tfvars:1: write each setting/,
    );
  });

  it("ships a lean profile whose every setting states its trade-off", () => {
    const lean = loadProfile(repoRoot, "lean");
    expect(lean.settings.map((s) => s.variable)).to.include.members([
      "controller_instance_type",
      "cache_engine",
      "worker_secrets_from",
      "worker_logs",
    ]);
    for (const s of lean.settings) expect(s.tradeOff.length, s.variable).to.be.greaterThan(10);
    expect(() => loadProfile(repoRoot, "nope")).to.throw(
      CostError,
      /no profile 'nope' \(known: default, lean/,
    );
  });

  it("prints each option's total and its difference from the priced configuration", () => {
    const at = (usd: number) => ({ region: "us-east-1", lines: [], totalUsd: usd });
    const text = formatOptions(
      at(50.1),
      [
        {
          how: "lean profile",
          estimate: at(30.97),
          settings: [{ variable: "a", value: "1", tradeOff: "why" }],
        },
      ],
      [{ what: "standby controller", estimate: at(58.33), note: "Later." }],
    );
    expect(text).to.contain("Options (us-east-1, against $50.10)");
    expect(text).to.contain("lean profile: $30.97 a month, $19.13 less. Trade-offs:");
    expect(text).to.match(/ {4}a = 1 {2}why/);
    expect(text).to.contain("standby controller: $58.33 a month, $8.23 more. Later.");
  });
});
