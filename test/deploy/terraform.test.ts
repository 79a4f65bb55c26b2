/**
 * deploy/terraform: format and validation offline, then an apply of the real configuration to a moto
 * server the suite starts (through the generated provider override, as `make deploy TARGET=local`
 * does), assertions read back through the AWS API and the state, the cost estimate of the plan, and a
 * destroy. moto's ElastiCache never finishes deleting (design.md §4): the cluster and its subnet group
 * leave the state before the destroy, as deploy/scripts/destroy.sh does.
 */
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSubnetsCommand,
  DescribeVpcEndpointsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CloudWatchLogsClient, DescribeMetricFiltersCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { estimate, parsePlan } from "../../deploy/cost/estimate";
import { priceTable } from "../../deploy/cost/prices";
import { formatReport } from "../../deploy/cost/report";
import { hasCommand, MotoServer, queryApi, startMoto, xmlValues } from "./moto-server";
import { repoRoot, scriptsDir, sh } from "./terraform-cli";

const tfDir = path.join(repoRoot, "deploy", "terraform");

interface StateResource {
  address: string;
  type: string;
  values: Record<string, unknown>;
}
interface StateModule {
  resources?: StateResource[];
}

describe("deploy/terraform", function () {
  before(function () {
    if (!hasCommand("terraform")) this.skip(); // terraform is not installed here
  });

  it("is formatted (terraform fmt -check)", async () => {
    await sh(tfDir, "terraform fmt -check -recursive -diff");
  });

  it("validates offline with the provider mirror", async () => {
    await sh(tfDir, "terraform init -backend=false -input=false >/dev/null && terraform validate -no-color");
  });

  describe("applied to the local cloud (moto)", function () {
    let moto: MotoServer | undefined;
    let workdir = "";
    let ec2: EC2Client;
    let outputs: Record<string, { value: unknown }> = {};
    let state: StateResource[] = [];
    let planJson = "";
    const clientConfig = () => ({
      endpoint: moto!.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const output = (name: string) => String(outputs[name]?.value);
    const inState = (type: string) => state.filter((r) => r.type === type);
    const one = (address: string) => {
      const r = state.find((s) => s.address === address);
      if (r === undefined) throw new Error(`${address} is not in the state`);
      return r.values;
    };

    before(async function () {
      if (!hasCommand("moto_server")) this.skip(); // moto is not installed here
      moto = await startMoto();
      ec2 = new EC2Client(clientConfig());
      workdir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-tf-"));
      await sh(
        repoRoot,
        `bash ${JSON.stringify(path.join(scriptsDir, "tf-workdir.sh"))} ${workdir} ${moto.endpoint}`,
      );
      await sh(workdir, "terraform init -input=false >/dev/null");
      await sh(workdir, "terraform plan -input=false -out=plan.out -no-color >/dev/null");
      planJson = await sh(workdir, "terraform show -json plan.out");
      const started = Date.now();
      await sh(workdir, "terraform apply -input=false -auto-approve -no-color plan.out");
      console.log(`      terraform apply to moto took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      outputs = JSON.parse(await sh(workdir, "terraform output -json")) as typeof outputs;
      const shown = JSON.parse(await sh(workdir, "terraform show -json")) as {
        values: { root_module: StateModule };
      };
      state = shown.values.root_module.resources ?? [];
    });

    after(async function () {
      if (moto === undefined) return;
      try {
        if (workdir !== "" && fs.existsSync(path.join(workdir, "terraform.tfstate"))) {
          await sh(
            workdir,
            "terraform state rm aws_elasticache_cluster.redis aws_elasticache_subnet_group.redis >/dev/null",
          );
          const started = Date.now();
          await sh(
            workdir,
            "terraform destroy -refresh=false -parallelism=20 -input=false -auto-approve -no-color",
          );
          console.log(`      terraform destroy on moto took ${((Date.now() - started) / 1000).toFixed(1)} s`);
          const vpcs = await ec2
            .send(new DescribeVpcsCommand({ VpcIds: [output("vpc_id")] }))
            .catch(() => ({ Vpcs: [] }));
          expect(vpcs.Vpcs ?? []).to.have.length(0);
        }
      } finally {
        await moto.stop();
        fs.rmSync(workdir, { recursive: true, force: true });
      }
    });

    it("has no NAT gateway and no load balancer", async () => {
      const nats = await ec2.send(new DescribeNatGatewaysCommand({}));
      expect(nats.NatGateways ?? []).to.have.length(0);
      const albs = await queryApi(moto!.endpoint, "elasticloadbalancing", "2015-12-01", {
        Action: "DescribeLoadBalancers",
      });
      expect(xmlValues(albs, "LoadBalancerArn")).to.have.length(0);
      const kinds = new Set(state.map((r) => r.type));
      for (const forbidden of ["aws_nat_gateway", "aws_lb", "aws_alb", "aws_elb"])
        expect(kinds.has(forbidden)).to.equal(false);
    });

    it("gives the private subnets no route out of the VPC", async () => {
      const vpcId = output("vpc_id");
      const subnets = await ec2.send(
        new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] }),
      );
      const privateIds = (subnets.Subnets ?? [])
        .filter((s) => s.Tags?.some((t) => t.Key === "Tier" && t.Value === "private"))
        .map((s) => s.SubnetId!);
      expect(privateIds).to.have.length(2);
      const tables = await ec2.send(
        new DescribeRouteTablesCommand({ Filters: [{ Name: "association.subnet-id", Values: privateIds }] }),
      );
      expect(tables.RouteTables).to.have.length(1);
      for (const route of tables.RouteTables![0]!.Routes ?? []) {
        expect(route.DestinationCidrBlock ?? "", "only local and prefix-list routes").to.not.equal(
          "0.0.0.0/0",
        );
        expect(route.GatewayId ?? "local").to.match(/^(local|vpce-)/);
        expect(route.NatGatewayId).to.equal(undefined);
      }
      const publicTable = one("aws_route_table.public");
      const internet = one("aws_route.public_internet");
      expect(internet.route_table_id).to.equal(publicTable.id);
      expect(String(internet.gateway_id)).to.match(/^igw-/);
    });

    it("attaches the endpoints to the right route tables and subnets", async () => {
      const out = await ec2.send(
        new DescribeVpcEndpointsCommand({ Filters: [{ Name: "vpc-id", Values: [output("vpc_id")] }] }),
      );
      const byService = new Map((out.VpcEndpoints ?? []).map((e) => [e.ServiceName!.split(".").pop()!, e]));
      expect([...byService.keys()].sort()).to.deep.equal(["dynamodb", "logs", "s3", "sqs", "ssm"]);
      const privateTable = String(one("aws_route_table.private").id);
      const publicTable = String(one("aws_route_table.public").id);
      for (const gateway of ["s3", "dynamodb"]) {
        const e = byService.get(gateway)!;
        expect(e.VpcEndpointType).to.equal("Gateway");
        expect(e.RouteTableIds ?? []).to.have.members([privateTable, publicTable]);
      }
      const firstPrivate = String(one("aws_subnet.private[0]").id);
      const endpointSg = String(one("aws_security_group.endpoints").id);
      for (const iface of ["sqs", "ssm", "logs"]) {
        const e = byService.get(iface)!;
        expect(e.VpcEndpointType).to.equal("Interface");
        expect(e.SubnetIds).to.deep.equal([firstPrivate]);
        expect(e.PrivateDnsEnabled).to.equal(true);
        expect((e.Groups ?? []).map((g) => g.GroupId)).to.deep.equal([endpointSg]);
      }
    });

    it("lets workers reach only the endpoints, Redis and the controller's port", async () => {
      const workersSg = String(one("aws_security_group.workers").id);
      const rules = await ec2.send(
        new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [workersSg] }] }),
      );
      const all = rules.SecurityGroupRules ?? [];
      expect(
        all.filter((r) => r.IsEgress !== true),
        "no ingress",
      ).to.have.length(0);
      const allowed = new Map([
        [String(one("aws_security_group.endpoints").id), 443],
        [String(one("aws_security_group.redis").id), 6379],
        [String(one("aws_security_group.controller").id), 8080],
      ]);
      const egress = all.filter((r) => r.IsEgress === true);
      expect(egress).to.have.length(5);
      for (const rule of egress) {
        expect(rule.CidrIpv4, "no CIDR egress").to.equal(undefined);
        const group = rule.ReferencedGroupInfo?.GroupId;
        if (group !== undefined) {
          expect(rule.FromPort).to.equal(allowed.get(group));
        } else {
          expect(rule.PrefixListId, "gateway endpoint prefix list").to.be.a("string");
          expect(rule.FromPort).to.equal(443);
        }
      }
    });

    it("runs one controller and the workers from their ASGs with a grace period", async () => {
      const xml = await queryApi(moto!.endpoint, "autoscaling", "2011-01-01", {
        Action: "DescribeAutoScalingGroups",
        "AutoScalingGroupNames.member.1": "faas-controller",
        "AutoScalingGroupNames.member.2": "faas-workers",
      });
      expect(xmlValues(xml, "AutoScalingGroupName")).to.include.members(["faas-controller", "faas-workers"]);
      const controller = one("aws_autoscaling_group.controller");
      expect([controller.min_size, controller.max_size, controller.desired_capacity]).to.deep.equal([
        1, 1, 1,
      ]);
      expect(controller.health_check_grace_period).to.be.greaterThan(0);
      const workers = one("aws_autoscaling_group.workers");
      expect([workers.min_size, workers.desired_capacity, workers.max_size]).to.deep.equal([1, 1, 3]);
      const running = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: "instance-state-name", Values: ["running", "pending"] }],
        }),
      );
      const instances = (running.Reservations ?? []).flatMap((r) => r.Instances ?? []);
      const role = (name: string) =>
        instances.filter((i) => i.Tags?.some((t) => t.Key === "Role" && t.Value === name));
      expect(role("controller")).to.have.length(1);
      expect(role("worker")).to.have.length(1);
      // The controller launches with a public IP (to reach the EC2 API before it holds the EIP), the
      // workers without one, in the private subnets.
      const lt = one("aws_launch_template.controller");
      const nic = (lt.network_interfaces as { associate_public_ip_address: string }[])[0]!;
      expect(nic.associate_public_ip_address).to.equal("true");
      const workerNic = (
        one("aws_launch_template.worker").network_interfaces as { associate_public_ip_address: string }[]
      )[0]!;
      expect(workerNic.associate_public_ip_address).to.equal("false");
      const privateIds = inState("aws_subnet")
        .filter((s) => s.address.startsWith("aws_subnet.private"))
        .map((s) => s.values.id);
      expect(privateIds).to.include(role("worker")[0]!.SubnetId);
    });

    it("allocates the Elastic IP, tagged for the controller's boot, and outputs it", async () => {
      const out = await ec2.send(
        new DescribeAddressesCommand({ Filters: [{ Name: "tag:Name", Values: ["faas-controller"] }] }),
      );
      expect(out.Addresses).to.have.length(1);
      expect(out.Addresses![0]!.PublicIp).to.equal(output("elastic_ip"));
      expect(output("api_url")).to.equal(`http://${output("elastic_ip")}:8080`);
      expect(output("queue_url")).to.contain("/faas-tasks");
    });

    it("sends dead tasks to the dead-letter queue", async () => {
      const sqs = new SQSClient(clientConfig());
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: output("queue_url"), AttributeNames: ["RedrivePolicy"] }),
      );
      const redrive = JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}") as Record<string, unknown>;
      expect(redrive.deadLetterTargetArn).to.match(/:faas-tasks-dlq$/);
      expect(Number(redrive.maxReceiveCount)).to.equal(5);
    });

    it("counts controller Error lines with a metric filter that has an alarm", async () => {
      const logs = new CloudWatchLogsClient(clientConfig());
      const out = await logs.send(new DescribeMetricFiltersCommand({ logGroupName: "/faas/controller" }));
      expect(out.metricFilters).to.have.length(1);
      const filter = out.metricFilters![0]!;
      expect(filter.filterPattern).to.equal("Error");
      expect(filter.metricTransformations?.[0]?.metricName).to.equal("ControllerErrorLines");
      const alarms = await queryApi(moto!.endpoint, "monitoring", "2010-08-01", { Action: "DescribeAlarms" });
      expect(xmlValues(alarms, "MetricName")).to.include("ControllerErrorLines");
    });

    it("grants each role exactly its actions", async () => {
      const actionsOf = async (role: string) => {
        const xml = await queryApi(moto!.endpoint, "iam", "2010-05-08", {
          Action: "GetRolePolicy",
          RoleName: role,
          PolicyName: role,
        });
        const doc = JSON.parse(decodeURIComponent(xmlValues(xml, "PolicyDocument")[0] ?? "{}")) as {
          Statement: { Action: string[] | string }[];
        };
        return doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
      };
      expect(await actionsOf("faas-controller")).to.deep.equal(
        [
          "dynamodb:DeleteItem",
          "dynamodb:GetItem",
          "dynamodb:PutItem",
          "dynamodb:Scan",
          "dynamodb:UpdateItem",
          "ec2:AssociateAddress",
          "ec2:DescribeAddresses",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
          "s3:DeleteObject",
          "s3:GetObject",
          "s3:ListBucket",
          "s3:PutObject",
          "sqs:GetQueueAttributes",
          "sqs:GetQueueUrl",
          "sqs:SendMessage",
          "ssm:GetParameter",
          "ssm:GetParameters",
        ].sort(),
      );
      expect(await actionsOf("faas-worker")).to.deep.equal(
        [
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
          "s3:GetObject",
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
          "ssm:GetParameter",
        ].sort(),
      );
    });

    it("prices the plan (faas cost) for the default configuration", () => {
      const result = estimate(parsePlan(planJson), priceTable("us-east-1"));
      console.log(
        formatReport(result)
          .split("\n")
          .map((l) => `      ${l}`)
          .join("\n"),
      );
      const byAddress = new Map(result.lines.map((l) => [`${l.address} ${l.category}`, l.monthlyUsd]));
      expect(byAddress.get("aws_autoscaling_group.controller compute")).to.equal(7.59);
      expect(byAddress.get("aws_autoscaling_group.workers compute")).to.equal(3.07);
      expect(byAddress.get("aws_elasticache_cluster.redis cache")).to.equal(12.41);
      expect(byAddress.get("aws_eip.controller public-ipv4")).to.equal(3.65);
      expect(byAddress.get(`aws_vpc_endpoint.interface["sqs"] endpoint`)).to.equal(7.3);
      expect(result.totalUsd).to.be.closeTo(7.59 + 3.07 + 12.41 + 3.65 + 3 * 7.3 + 2 * 0.64 + 0.1, 0.011);
    });
  });
});
