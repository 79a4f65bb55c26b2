/**
 * `faas cost [--region r] [--profile lean] [--var k=v] [--var-file f] [--plan plan.json]`: the monthly
 * estimate of the Terraform configuration, per resource, beside the original design's estimate, then
 * the options priced beside it: the lean profile with its trade-offs and a standby controller.
 *
 * Without --plan it plans deploy/terraform offline (deploy/cost/offline-plan.ts): no AWS credentials, no
 * secrets, no network, so it works on a fresh clone before any account exists. What it prices is the
 * real configuration's plan, never a model of it. --plan prices a plan made elsewhere (e.g. against a
 * real account: terraform show -json plan.out > plan.json), and nothing beside it.
 */
import fs from "node:fs";
import path from "node:path";
import type { CommandModule } from "yargs";
import { estimate, Estimate, parsePlan } from "../../deploy/cost/estimate";
import { OfflinePlanError, offlinePlanner } from "../../deploy/cost/offline-plan";
import { CostError, PRICED_REGIONS, priceTable } from "../../deploy/cost/prices";
import { loadProfile } from "../../deploy/cost/profiles";
import { formatOptions, formatReport } from "../../deploy/cost/report";
import { UserError } from "../errors";

interface CostArgs {
  plan?: string;
  region: string;
  profile: string;
  var?: string[];
  "var-file"?: string[];
}

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const LEAN = "lean";

function readPlanFile(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`cannot read the plan ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function parseVars(pairs: readonly string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new UserError(`--var ${pair}: write it as name=value`);
    vars[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return vars;
}

async function run(args: CostArgs): Promise<string> {
  const prices = priceTable(args.region);
  const price = (json: string): Estimate => {
    // A plan made against the local cloud carries moto's stand-in (localcloud_*), which AWS never bills.
    const plan = parsePlan(json);
    const root = plan.planned_values.root_module;
    root.resources = (root.resources ?? []).filter((r) => !r.address.includes(".localcloud_"));
    return estimate(plan, prices);
  };
  const reportOptions = { priceSource: prices.source };
  if (args.plan !== undefined) {
    return formatReport(price(readPlanFile(args.plan)), { ...reportOptions, configuration: args.plan });
  }

  const userVars: Record<string, string> = { ...parseVars(args.var ?? []), region: args.region };
  const userFiles = args["var-file"] ?? [];
  for (const f of userFiles) if (!fs.existsSync(f)) throw new UserError(`--var-file ${f}: no such file`);
  const profile = args.profile === "default" ? undefined : loadProfile(repoRoot, args.profile);
  const lean = args.profile === LEAN ? undefined : loadProfile(repoRoot, LEAN);
  const withProfile = (p: { file: string } | undefined) => [
    ...(p === undefined ? [] : [p.file]),
    ...userFiles,
  ];

  await using planner = await offlinePlanner(repoRoot);
  const [base, leanPlan, standbyPlan] = await Promise.all([
    planner.plan({ varFiles: withProfile(profile), vars: userVars }),
    lean === undefined ? undefined : planner.plan({ varFiles: withProfile(lean), vars: userVars }),
    userVars.standby_controller === "true"
      ? undefined
      : planner.plan({ varFiles: withProfile(profile), vars: { ...userVars, standby_controller: "true" } }),
  ]);
  const baseEstimate = price(base);
  const configuration = profile === undefined ? "default configuration" : `profile ${profile.name}`;
  const extras = Object.keys(userVars).filter((k) => k !== "region");
  const described = [configuration, ...extras.map((k) => `${k} = ${userVars[k]}`), ...userFiles].join(", ");
  return (
    formatReport(baseEstimate, { ...reportOptions, configuration: described }) +
    formatOptions(
      baseEstimate,
      lean === undefined || leanPlan === undefined
        ? []
        : [
            {
              how: `lean profile (make deploy PROFILE=${LEAN}, ${path.relative(repoRoot, lean.file)})`,
              estimate: price(leanPlan),
              settings: lean.settings,
            },
          ],
      standbyPlan === undefined
        ? []
        : [
            {
              what: "standby controller (standby_controller = true)",
              estimate: price(standbyPlan),
              note: "A second controller; its takeover of the Elastic IP is the failover issue's work (deploy/README.md).",
            },
          ],
    )
  );
}

export const costCommand: CommandModule<object, CostArgs> = {
  command: "cost",
  describe:
    "Estimate the monthly cost of the Terraform configuration (offline: no credentials needed), beside the original design's estimate and the lean profile",
  builder: (yargs) =>
    yargs
      .option("region", {
        type: "string",
        default: "us-east-1",
        describe: `Region to plan and price (${PRICED_REGIONS.join(", ")})`,
      })
      .option("profile", {
        type: "string",
        default: "default",
        describe: "Configuration to price: default, or a profile in deploy/profiles (lean)",
      })
      .option("var", {
        type: "string",
        array: true,
        describe: "A Terraform variable, name=value (repeatable)",
      })
      .option("var-file", { type: "string", array: true, describe: "A .tfvars file (repeatable)" })
      .option("plan", {
        type: "string",
        describe: "Price this JSON plan instead (terraform show -json plan.out); prices only that",
      }),
  handler: async (args) => {
    try {
      process.stdout.write(await run(args));
    } catch (err) {
      if (err instanceof CostError || err instanceof OfflinePlanError) throw new UserError(err.message);
      throw err;
    }
  },
};
