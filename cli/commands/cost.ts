/**
 * `faas cost [--plan plan.json] [--region us-east-1]`: the monthly estimate of the Terraform
 * configuration, per resource, beside the original design's estimate. Without --plan it plans
 * deploy/terraform itself (which needs AWS credentials, or TARGET=local's working directory via --dir).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { CommandModule } from "yargs";
import { estimate, parsePlan } from "../../deploy/cost/estimate";
import { CostError, priceTable } from "../../deploy/cost/prices";
import { formatReport } from "../../deploy/cost/report";
import { UserError } from "../errors";

interface CostArgs {
  plan?: string;
  region: string;
  dir: string;
}

const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** `terraform plan` + `terraform show -json` in dir, with the CLI config from deploy/scripts/tf-env.sh. */
function planJson(dir: string): string {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "faas-cost-"));
  const script = [
    `source ${JSON.stringify(path.join(repoRoot, "deploy/scripts/tf-env.sh"))}`,
    `cd ${JSON.stringify(dir)}`,
    "terraform init -input=false >/dev/null",
    `terraform plan -input=false -lock=false -out=${JSON.stringify(path.join(tmp, "plan.out"))} >&2`,
    `terraform show -json ${JSON.stringify(path.join(tmp, "plan.out"))}`,
  ].join(" && ");
  try {
    return execFileSync("bash", ["-c", script], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "inherit"],
    });
  } catch {
    throw new UserError(
      `terraform plan failed in ${dir}; fix the error above, or pass a plan: terraform show -json plan.out > plan.json && faas cost --plan plan.json`,
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export const costCommand: CommandModule<object, CostArgs> = {
  command: "cost",
  describe:
    "Estimate the monthly cost of the Terraform configuration, next to the original design's estimate",
  builder: (yargs) =>
    yargs
      .option("plan", { type: "string", describe: "A JSON plan (terraform show -json plan.out)" })
      .option("region", { type: "string", default: "us-east-1", describe: "Region of the price table" })
      .option("dir", {
        type: "string",
        default: path.join(repoRoot, "deploy", "terraform"),
        describe: "Terraform configuration to plan when --plan is not given",
      }),
  handler: (args) => {
    let json: string;
    if (args.plan !== undefined) {
      try {
        json = fs.readFileSync(args.plan, "utf8");
      } catch (err) {
        throw new UserError(
          `cannot read the plan ${args.plan}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    } else {
      json = planJson(args.dir);
    }
    try {
      process.stdout.write(formatReport(estimate(parsePlan(json), priceTable(args.region))));
    } catch (err) {
      if (err instanceof CostError) throw new UserError(err.message);
      throw err;
    }
  },
};
