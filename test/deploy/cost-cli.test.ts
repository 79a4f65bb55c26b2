/**
 * `faas cost` as a new user runs it: from a fresh copy of the checkout (no .faas/, no initialised
 * Terraform folder), with a HOME of its own (no ~/.aws) and no AWS_* or TF_VAR_* variable at all, in both
 * priced regions. It plans the configuration offline and prints the estimate, the original design's
 * estimate with what it left out, and the options (lean profile with its trade-offs, standby controller).
 */
import { execFile } from "node:child_process";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { hasCommand } from "./moto-server";
import { repoRoot } from "./terraform-cli";

const run = promisify(execFile);

describe("faas cost on a fresh checkout with no AWS environment", function () {
  let clone = "";
  const output = new Map<string, string>();

  before(async function () {
    if (!hasCommand("terraform")) this.skip(); // terraform is not installed here
    clone = fs.mkdtempSync(path.join(os.tmpdir(), "faas-clone-"));
    for (const entry of ["bin", "dist", "deploy", "package.json", ".node-version"]) {
      fs.cpSync(path.join(repoRoot, entry), path.join(clone, entry), {
        recursive: true,
        filter: (src) => !src.includes(`${path.sep}.terraform`) && !src.endsWith(".tfstate"),
      });
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(clone, "node_modules"));
    const home = path.join(clone, "home");
    fs.mkdirSync(home);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home };
    if (process.env.TF_PROVIDER_MIRROR !== undefined) env.TF_PROVIDER_MIRROR = process.env.TF_PROVIDER_MIRROR;
    const started = Date.now();
    await Promise.all(
      ["us-east-1", "ap-northeast-2"].map(async (region) => {
        const { stdout } = await run("node", [path.join(clone, "bin", "faas"), "cost", "--region", region], {
          cwd: home,
          env,
          maxBuffer: 16 * 1024 * 1024,
        });
        output.set(region, stdout);
      }),
    );
    console.log(`      faas cost in two regions took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(
      (output.get("us-east-1") ?? "")
        .split("\n")
        .map((l) => `      ${l}`)
        .join("\n"),
    );
  });

  after(() => {
    if (clone !== "") fs.rmSync(clone, { recursive: true, force: true });
  });

  it("prices the default configuration in us-east-1 beside the original design's estimate and its omissions", () => {
    const text = output.get("us-east-1")!;
    expect(text).to.contain("Monthly estimate, us-east-1, default configuration");
    expect(text).to.match(/TOTAL\s+\$50\.10\n/);
    expect(text).to.match(/aws_vpc_endpoint\.interface\["ssm"\]\s+\$7\.30/);
    expect(text).to.match(/TOTAL\s+~\$23\.00/);
    expect(text).to.contain("ElastiCache Redis: $12.41");
    expect(text).to.contain("public IPv4 addresses (the Elastic IP): $3.65");
  });

  it("offers the lean profile with one trade-off line per setting, and the standby controller's price", () => {
    const text = output.get("us-east-1")!;
    expect(text).to.contain(
      "lean profile (make deploy PROFILE=lean, deploy/profiles/lean.tfvars): $30.97 a month, $19.13 less",
    );
    for (const setting of [
      "controller_instance_type",
      "cache_engine",
      "cache_node_type",
      "worker_secrets_from",
      "worker_logs",
    ]) {
      expect(text).to.match(new RegExp(`\\n {4}${setting} = \\S+ +\\S.{20,}\\n`));
    }
    expect(text).to.contain("standby controller (standby_controller = true): $58.33 a month, $8.23 more");
  });

  it("prices ap-northeast-2 with its own table and endpoints", () => {
    const text = output.get("ap-northeast-2")!;
    expect(text).to.contain("Monthly estimate, ap-northeast-2, default configuration");
    expect(text).to.contain("interface com.amazonaws.ap-northeast-2.sqs in 1 AZ");
    expect(text).to.match(/aws_autoscaling_group\.controller\s+\$9\.49\s+1 × t3\.micro/);
    expect(text).to.contain("Prices: AWS's price pages for Asia Pacific (Seoul), not re-checked offline");
    expect(text).to.match(/lean profile .*: \$\d+\.\d\d a month, \$\d+\.\d\d less/);
  });

  it("left nothing behind in the checkout (no state, no .faas)", () => {
    expect(fs.existsSync(path.join(clone, ".faas"))).to.equal(false);
    expect(
      fs.readdirSync(path.join(clone, "deploy", "terraform")).filter((f) => f.includes("tfstate")),
    ).to.deep.equal([]);
  });
});
