/**
 * deploy/terraform planned offline (deploy/scripts/tf-plandir.sh: no credentials, no secrets, closed
 * endpoints), asserted on `terraform show -json`: what moto cannot apply or show (instance refresh,
 * write-only secrets, launch-template tags, the lean profile's replacement paths, several AZs), the
 * variable validations, and the cost of each configuration in both priced regions.
 */
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { estimate, parsePlan } from "../../deploy/cost/estimate";
import { OfflinePlanError, OfflinePlanner, offlinePlanner } from "../../deploy/cost/offline-plan";
import { priceTable } from "../../deploy/cost/prices";
import { hasCommand } from "./moto-server";
import { repoRoot } from "./terraform-cli";

interface Resource {
  address: string;
  type: string;
  values: Record<string, unknown>;
}
interface ConfigResource {
  address: string;
  depends_on?: string[];
  expressions?: Record<string, unknown>;
}
interface ShownPlan {
  planned_values: { root_module: { resources?: Resource[] } };
  configuration: { root_module: { resources?: ConfigResource[] } };
}

const leanFile = path.join(repoRoot, "deploy", "profiles", "lean.tfvars");
/** tls_mode = acme with a narrower API audience and a Route 53 zone for the record. */
const acmeVars = {
  tls_mode: "acme",
  tls_domain: "api.example.com",
  acme_email: "ops@example.com",
  route53_zone_id: "Z0123456789ABCDEFGHIJ",
  api_ingress_cidrs: '["203.0.113.0/24"]',
};
/** deploy/scripts/tf-plandir.sh's placeholders. */
const placeholders = {
  tls_cert: "offline-plan-tls-cert",
  tls_key: "offline-plan-tls-key",
  tls_fingerprint:
    "0F:F1:1E:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00",
  api_key: "offline-plan-api-key-000000000000000000000",
  worker_secret: "offline-plan-worker-secret-00000000000000000",
  redis_auth_token: "offline-plan-redis-auth-token-0000000000000",
  env_key: "offline-plan-env-key-000000000000000000000",
};

class Planned {
  readonly plan: ShownPlan;
  constructor(readonly json: string) {
    this.plan = JSON.parse(json) as ShownPlan;
  }
  get resources(): Resource[] {
    return this.plan.planned_values.root_module.resources ?? [];
  }
  one(address: string): Record<string, unknown> {
    const r = this.resources.find((x) => x.address === address);
    if (r === undefined) throw new Error(`${address} is not in the plan`);
    return r.values;
  }
  has(address: string): boolean {
    return this.resources.some((x) => x.address === address);
  }
  config(address: string): ConfigResource {
    const r = (this.plan.configuration.root_module.resources ?? []).find((x) => x.address === address);
    if (r === undefined) throw new Error(`${address} is not in the configuration`);
    return r;
  }
  /** The controller security group's ingress rules from addresses: [port, CIDR], sorted. */
  publicIngress(): [number, string][] {
    return this.resources
      .filter(
        (r) =>
          r.type === "aws_vpc_security_group_ingress_rule" &&
          r.address.startsWith("aws_vpc_security_group_ingress_rule.controller"),
      )
      .filter((r) => typeof r.values.cidr_ipv4 === "string")
      .map((r): [number, string] => [Number(r.values.from_port), String(r.values.cidr_ipv4)])
      .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  }
  output(name: string): unknown {
    return (this.plan as unknown as { planned_values: { outputs?: Record<string, { value?: unknown }> } })
      .planned_values.outputs?.[name]?.value;
  }
  interfaceEndpoints(): string[] {
    return this.resources
      .filter((r) => r.type === "aws_vpc_endpoint" && r.values.vpc_endpoint_type === "Interface")
      .map((r) => String(r.values.service_name).split(".").pop()!)
      .sort();
  }
  total(region: string): number {
    return estimate(parsePlan(this.json), priceTable(region)).totalUsd;
  }
}

type Refusal = [what: string, vars: Record<string, string>, message: RegExp];

/**
 * Refusals planned together: Terraform reports every invalid variable of a plan, and a plan costs
 * some 10 s of CPU (the provider's schema, loaded by the plan and again by `show`). Two cases share a
 * plan only when no validation could see both: each case's footprint is every variable read by a
 * validation that reads one the case sets (a validation of tls_domain reads tls_mode, so a case
 * setting either keeps to itself), and the footprints must not meet. Nor may their messages be the
 * same, so that none passes on another's error; each needs its own message among its plan's errors.
 */
function sharedPlans(cases: Refusal[]): Refusal[][] {
  const reads = validationReads();
  const footprint = (vars: Record<string, string>) => {
    const keys = Object.keys(vars);
    const out = new Set(keys);
    for (const read of reads.values()) if (keys.some((k) => read.has(k))) for (const v of read) out.add(v);
    return out;
  };
  const groups: { vars: Set<string>; messages: Set<string>; cases: Refusal[] }[] = [];
  for (const c of cases) {
    const touched = [...footprint(c[1])];
    let group = groups.find((g) => !touched.some((v) => g.vars.has(v)) && !g.messages.has(c[2].source));
    if (group === undefined) {
      group = { vars: new Set(), messages: new Set(), cases: [] };
      groups.push(group);
    }
    for (const v of touched) group.vars.add(v);
    group.messages.add(c[2].source);
    group.cases.push(c);
  }
  return groups.map((g) => g.cases);
}

/** Each variable of deploy/terraform, with itself and every variable its validations read. */
function validationReads(): Map<string, Set<string>> {
  const text = fs.readFileSync(path.join(repoRoot, "deploy", "terraform", "variables.tf"), "utf8");
  const out = new Map<string, Set<string>>();
  for (const block of text.split(/^variable "/m).slice(1)) {
    const name = block.slice(0, block.indexOf('"'));
    out.set(name, new Set([name, ...[...block.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1]!)]));
  }
  return out;
}

describe("deploy/terraform planned offline", function () {
  let planner: OfflinePlanner | undefined;
  const plans = new Map<string, Planned>();
  const get = (name: string) => {
    const p = plans.get(name);
    if (p === undefined) throw new Error(`no plan ${name}`);
    return p;
  };

  before(async function () {
    if (!hasCommand("terraform")) this.skip(); // terraform is not installed here
    const started = Date.now();
    planner = await offlinePlanner(repoRoot);
    const requests: [string, Parameters<OfflinePlanner["plan"]>[0]][] = [
      ["default", { vars: { tags: '{"Owner"="platform-team"}' } }],
      ["lean", { varFiles: [leanFile] }],
      ["az2", { vars: { interface_endpoint_az_count: "2" } }],
      ["standby", { vars: { standby_controller: "true" } }],
      ["seoul", { vars: { region: "ap-northeast-2" } }],
      ["seoul-lean", { varFiles: [leanFile], vars: { region: "ap-northeast-2" } }],
      ["acme", { vars: acmeVars }],
      ["tls-off", { vars: { tls_mode: "off" } }],
    ];
    // Two at a time: each plan is a Terraform process with the provider beside it.
    for (let i = 0; i < requests.length; i += 2) {
      await Promise.all(
        requests
          .slice(i, i + 2)
          .map(async ([name, request]) => plans.set(name, new Planned(await planner!.plan(request)))),
      );
    }
    console.log(
      `      ${requests.length} offline plans took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  after(async () => {
    await planner?.[Symbol.asyncDispose]();
  });

  it("rolls new launch templates out with an instance refresh that keeps the old instance until the new one is up", () => {
    for (const asg of ["aws_autoscaling_group.controller", "aws_autoscaling_group.workers"]) {
      const refresh = (get("default").one(asg).instance_refresh as Record<string, unknown>[])[0]!;
      expect(refresh.strategy, asg).to.equal("Rolling");
      const prefs = (refresh.preferences as Record<string, unknown>[])[0]!;
      expect([prefs.min_healthy_percentage, prefs.max_healthy_percentage], asg).to.deep.equal([100, 200]);
      expect(prefs.instance_warmup, asg).to.equal("90");
    }
    const controller = get("default").one("aws_autoscaling_group.controller");
    expect([controller.min_size, controller.desired_capacity, controller.max_size]).to.deep.equal([1, 1, 2]);
  });

  it("launches the groups only after their endpoints, secrets and role policies exist", () => {
    const p = get("default");
    expect(p.config("aws_autoscaling_group.controller").depends_on).to.have.members([
      "aws_vpc_endpoint.interface",
      "aws_vpc_endpoint.gateway",
      "aws_iam_role_policy.controller",
    ]);
    expect(p.config("aws_autoscaling_group.workers").depends_on).to.have.members([
      "aws_vpc_endpoint.interface",
      "aws_vpc_endpoint.gateway",
      "aws_s3_object.worker_secrets",
      "aws_iam_role_policy.worker",
    ]);
  });

  it("tags instances, volumes and interfaces through the launch templates, and terminates on power-off", () => {
    for (const role of ["controller", "worker"]) {
      const lt = get("default").one(`aws_launch_template.${role}`);
      expect(lt.instance_initiated_shutdown_behavior, role).to.equal("terminate");
      const specs = lt.tag_specifications as { resource_type: string; tags: Record<string, string> }[];
      expect(specs.map((s) => s.resource_type)).to.have.members(["instance", "volume", "network-interface"]);
      for (const spec of specs) {
        expect(spec.tags, `${role} ${spec.resource_type}`).to.deep.equal({
          Project: "faas",
          Owner: "platform-team",
          Name: `faas-${role}`,
          Role: role,
        });
      }
    }
  });

  it("counts pino's error levels with a JSON metric filter and alarms on dead letters", () => {
    const p = get("default");
    expect(p.one("aws_cloudwatch_log_metric_filter.controller_errors").pattern).to.equal("{ $.level >= 50 }");
    const dlq = p.one("aws_cloudwatch_metric_alarm.dead_letters");
    expect([dlq.namespace, dlq.metric_name, dlq.threshold, dlq.comparison_operator]).to.deep.equal([
      "AWS/SQS",
      "ApproximateNumberOfMessagesVisible",
      1,
      "GreaterThanOrEqualToThreshold",
    ]);
    expect(dlq.dimensions).to.deep.equal({ QueueName: "faas-tasks-dlq" });
    expect(p.one("aws_s3_bucket.functions").force_destroy).to.equal(false);
  });

  it("takes the AMIs from variables, never from a lookup by name", () => {
    const p = get("default");
    expect(p.json).to.not.contain('"data.aws_ami.');
    expect(p.one("aws_launch_template.controller").image_id).to.equal("ami-00000000000000001");
    expect(p.one("aws_launch_template.worker").image_id).to.equal("ami-00000000000000002");
  });

  it("writes the API key, worker secret and env key only through write-only arguments: not in the plan", () => {
    const p = get("default");
    for (const name of ["api_key", "worker_secret", "redis_auth_token", "env_key"]) {
      const param = p.one(`aws_ssm_parameter.${name}`);
      expect(param.type, name).to.equal("SecureString");
      expect(param.value_wo_version, name).to.equal(1);
      expect(param.value_wo ?? null, name).to.equal(null);
    }
    for (const name of ["api_key", "worker_secret", "env_key"] as const) {
      expect(p.json, `${name} in the plan`).to.not.contain(placeholders[name]);
    }
    // The one secret a plan (and the state) carries: provider 5.100 has no write-only AUTH token.
    expect(p.one("aws_elasticache_replication_group.redis").auth_token).to.equal(
      placeholders.redis_auth_token,
    );
  });

  it("puts each interface endpoint in interface_endpoint_az_count AZs, and prices each AZ", () => {
    const one = get("default");
    const two = get("az2");
    for (const service of ["sqs", "ssm", "logs"]) {
      expect(one.one(`aws_vpc_endpoint.interface["${service}"]`).tags).to.deep.include({
        AvailabilityZones: "us-east-1a",
      });
      expect(two.one(`aws_vpc_endpoint.interface["${service}"]`).tags).to.deep.include({
        AvailabilityZones: "us-east-1a,us-east-1b",
      });
    }
    expect(one.total("us-east-1")).to.equal(50.1);
    expect(two.total("us-east-1")).to.equal(72.0);
  });

  // The replacement paths themselves (user data, IAM and endpoint policies) name resources that exist
  // only after an apply: terraform.test.ts plans the lean profile against the applied stack.
  it("the lean profile keeps only the SQS endpoint, an encrypted secrets object, TLS and AUTH on Valkey", () => {
    const lean = get("lean");
    expect(get("default").interfaceEndpoints()).to.deep.equal(["logs", "sqs", "ssm"]);
    expect(lean.interfaceEndpoints()).to.deep.equal(["sqs"]);
    expect(get("default").has("aws_s3_object.worker_secrets[0]")).to.equal(false);
    const object = lean.one("aws_s3_object.worker_secrets[0]");
    expect([object.key, object.server_side_encryption]).to.deep.equal(["secrets/worker.env", "aws:kms"]);
    expect(lean.has("aws_s3_bucket_lifecycle_configuration.worker_logs[0]")).to.equal(true);
    const cache = lean.one("aws_elasticache_replication_group.redis");
    expect([cache.engine, cache.node_type, cache.transit_encryption_enabled]).to.deep.equal([
      "valkey",
      "cache.t4g.micro",
      true,
    ]);
    expect(cache.auth_token).to.equal(placeholders.redis_auth_token);
    expect(lean.one("aws_launch_template.controller").instance_type).to.equal("t4g.micro");
  });

  it("prices default, lean and standby in us-east-1 and ap-northeast-2", () => {
    const totals = {
      "us-east-1 default": get("default").total("us-east-1"),
      "us-east-1 lean": get("lean").total("us-east-1"),
      "us-east-1 standby": get("standby").total("us-east-1"),
      "ap-northeast-2 default": get("seoul").total("ap-northeast-2"),
      "ap-northeast-2 lean": get("seoul-lean").total("ap-northeast-2"),
    };
    console.log(`      ${JSON.stringify(totals)}`);
    // 7.59 + 3.07 + 2 x 0.64 + 12.41 + 3.65 + 3 x 7.30 + 2 x 0.10
    expect(totals["us-east-1 default"]).to.equal(50.1);
    // 6.13 (t4g.micro) + 3.07 + 1.28 + 9.34 (valkey cache.t4g.micro) + 3.65 + 7.30 (SQS) + 0.20
    expect(totals["us-east-1 lean"]).to.equal(30.97);
    // A second t3.micro controller and its volume.
    expect(totals["us-east-1 standby"]).to.equal(50.1 + 7.59 + 0.64);
    const standby = get("standby").one("aws_autoscaling_group.controller");
    expect([standby.min_size, standby.desired_capacity, standby.max_size]).to.deep.equal([2, 2, 4]);
    expect(get("seoul").one('aws_vpc_endpoint.interface["sqs"]').service_name).to.equal(
      "com.amazonaws.ap-northeast-2.sqs",
    );
    expect(totals["ap-northeast-2 default"]).to.be.greaterThan(totals["us-east-1 default"]);
    expect(totals["ap-northeast-2 lean"]).to.be.lessThan(totals["ap-northeast-2 default"]);
  });

  describe("TLS on the public API (tls_mode)", function () {
    /** The controller's user-data settings for TLS, as the plan of `vars` gives them (user data is unknown offline). */
    const tlsBoot = async (vars: Record<string, string>) =>
      JSON.parse(
        JSON.parse(await planner!.evaluate({ vars }, "jsonencode(local.controller_tls_boot)")) as string,
      ) as Record<string, string>;

    it("self-signed (the default): HTTPS on the API's port, the certificate and key in SSM through write-only arguments only", async () => {
      const p = get("default");
      expect(p.publicIngress()).to.deep.equal([[8080, "0.0.0.0/0"]]);
      for (const name of ["tls_cert", "tls_key"]) {
        const param = p.one(`aws_ssm_parameter.${name}[0]`);
        expect([param.name, param.type, param.value_wo ?? null, param.value_wo_version], name).to.deep.equal([
          `/faas/${name.replace("_", "-")}`,
          "SecureString",
          null,
          1,
        ]);
      }
      expect(p.json, "the certificate in the plan").to.not.contain(placeholders.tls_cert);
      expect(p.json, "the key in the plan").to.not.contain(placeholders.tls_key);
      expect([p.output("tls_mode"), p.output("tls_fingerprint")]).to.deep.equal([
        "self-signed",
        placeholders.tls_fingerprint,
      ]);
      expect(await tlsBoot({})).to.deep.equal({
        tls_mode: "self-signed",
        api_host: "0.0.0.0",
        tls_cert_param: "/faas/tls-cert",
        tls_key_param: "/faas/tls-key",
        tls_fingerprint: placeholders.tls_fingerprint,
        tls_domain: "",
        acme_email: "",
        acme_ca: "",
        caddy_storage: "",
      });
    });

    it("acme: Caddy's 443 for the API's audience and 80 for the CA's challenge, the API on loopback, the record in the zone", async () => {
      const p = get("acme");
      expect(p.publicIngress()).to.deep.equal([
        [80, "0.0.0.0/0"],
        [443, "203.0.113.0/24"],
      ]);
      expect(p.has("aws_ssm_parameter.tls_cert[0]") || p.has("aws_ssm_parameter.tls_key[0]")).to.equal(false);
      const record = p.one("aws_route53_record.api[0]");
      expect([record.zone_id, record.name, record.type, record.ttl]).to.deep.equal([
        "Z0123456789ABCDEFGHIJ",
        "api.example.com",
        "A",
        300,
      ]);
      expect([p.output("api_url"), p.output("tls_fingerprint")]).to.deep.equal([
        "https://api.example.com",
        "",
      ]);
      expect(await tlsBoot(acmeVars)).to.deep.equal({
        tls_mode: "acme",
        api_host: "127.0.0.1",
        tls_cert_param: "",
        tls_key_param: "",
        tls_fingerprint: "",
        tls_domain: "api.example.com",
        acme_email: "ops@example.com",
        acme_ca: "https://acme-v02.api.letsencrypt.org/directory",
        caddy_storage: "s3://faas-functions-000000000000-us-east-1/tls/caddy",
      });
      // Without a zone the record is the user's.
      expect(get("default").has("aws_route53_record.api[0]")).to.equal(false);
    });

    it("off: plain HTTP on the API's port, no certificate", () => {
      const p = get("tls-off");
      expect(p.publicIngress()).to.deep.equal([[8080, "0.0.0.0/0"]]);
      expect(p.has("aws_ssm_parameter.tls_cert[0]")).to.equal(false);
      expect([p.output("tls_mode"), p.output("tls_fingerprint")]).to.deep.equal(["off", ""]);
    });
  });

  describe("variable validation", function () {
    const rejected: Refusal[] = [
      ["an unknown TLS mode", { tls_mode: "bogus" }, /tls_mode must be self-signed, acme or off/],
      [
        "a domain with a space and a shell command",
        { tls_mode: "acme", tls_domain: "api.example.com; reboot" },
        /tls_domain must be a DNS name in lower case/,
      ],
      [
        "a domain that would close the Caddyfile's block",
        { tls_mode: "acme", tls_domain: "api.example.com}" },
        /tls_domain must be a DNS name in lower case/,
      ],
      [
        "a wildcard domain",
        { tls_mode: "acme", tls_domain: "*.example.com" },
        /tls_domain must be a DNS name/,
      ],
      [
        "a domain in capitals",
        { tls_mode: "acme", tls_domain: "API.example.com" },
        /tls_domain must be a DNS name/,
      ],
      [
        "an address as the domain",
        { tls_mode: "acme", tls_domain: "203.0.113.7" },
        /tls_domain must be a DNS name/,
      ],
      ["acme without a domain", { tls_mode: "acme" }, /tls_mode = acme needs tls_domain/],
      [
        "a domain without acme",
        { tls_domain: "api.example.com" },
        /tls_domain is used only with\s+tls_mode\s+=\s+acme/,
      ],
      [
        "an e-mail address with a space",
        { tls_mode: "acme", tls_domain: "api.example.com", acme_email: "ops @example.com" },
        /acme_email must be a plain e-mail address/,
      ],
      [
        "an ACME directory over plain HTTP",
        { tls_mode: "acme", tls_domain: "api.example.com", acme_ca: "http://acme.invalid/directory" },
        /acme_ca must be an https:\/\/ URL/,
      ],
      [
        "a Route 53 zone without acme",
        { route53_zone_id: "Z0123456789ABCDEFGHIJ" },
        /used only with\s+tls_mode\s+=\s+acme/,
      ],
      ["a fingerprint that is not a SHA-256", { tls_fingerprint: "AB:CD" }, /needs tls_fingerprint/],
      [
        "a certificate that is not PEM",
        { tls_cert: "not a certificate" },
        /needs tls_cert, a PEM certificate/,
      ],
      [
        "more endpoint AZs than AZs",
        { interface_endpoint_az_count: "3" },
        /interface_endpoint_az_count must be/,
      ],
      ["a name the bucket cannot carry", { name: "Faas_Prod" }, /name must start with a lowercase letter/],
      ["min above desired", { worker_min_size: "2" }, /worker_min_size <= worker_desired_capacity/],
      ["an unknown cache engine", { cache_engine: "memcached" }, /cache_engine must be redis or valkey/],
      ["a privileged port", { controller_port: "80" }, /controller_port must be an unprivileged port/],
      ["a retention CloudWatch refuses", { log_retention_days: "10" }, /log_retention_days must be one of/],
      ["an AMI that is not an id", { controller_ami_id: "latest" }, /controller_ami_id must be an AMI id/],
      [
        "s3 secrets without a file",
        { worker_secrets_from: "s3", worker_secrets_file: "" },
        /needs worker_secrets_file/,
      ],
      ["a short API key", { api_key: "short" }, /api_key must be at least 16 characters/],
    ];
    const errors = new Map<string, unknown>();
    before(async function () {
      if (planner === undefined) this.skip();
      const groups = sharedPlans(rejected);
      for (let i = 0; i < groups.length; i += 3) {
        await Promise.all(
          groups.slice(i, i + 3).map(async (group) => {
            const vars = Object.assign({}, ...group.map(([, v]) => v)) as Record<string, string>;
            const err = await planner!.plan({ vars }).then(
              () => undefined,
              (e: unknown) => e,
            );
            for (const [what] of group) errors.set(what, err);
          }),
        );
      }
      console.log(`      ${rejected.length} refusals in ${groups.length} plans`);
    });
    for (const [what, , message] of rejected) {
      it(`refuses ${what}`, () => {
        const err = errors.get(what);
        expect(err).to.be.instanceOf(OfflinePlanError);
        expect((err as Error).message).to.match(message);
      });
    }
  });

  it("commits the provider lock file (deploy/terraform/.terraform.lock.hcl), with the provider it pins", () => {
    const lock = fs.readFileSync(path.join(repoRoot, "deploy", "terraform", ".terraform.lock.hcl"), "utf8");
    expect(lock).to.match(
      /provider "registry\.terraform\.io\/hashicorp\/aws" \{\s*version\s*=\s*"5\.\d+\.\d+"/,
    );
    const ignored = fs.readFileSync(path.join(repoRoot, ".gitignore"), "utf8");
    expect(ignored).to.not.contain(".terraform.lock.hcl");
  });
});
