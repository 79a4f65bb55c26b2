/**
 * The text `faas cost` prints: the estimate per resource, the original design's estimate and what it
 * left out, then the options priced beside it (a leaner profile with its trade-offs, a standby controller).
 */
import { Estimate } from "./estimate";
import { ProfileSetting } from "./profiles";
import { CATEGORY_NAMES, Category, ORIGINAL_ESTIMATE } from "./prices";

const usd = (n: number) => `$${n.toFixed(2)}`;

/** Categories that cost money in this estimate but have no line in the original design's estimate. */
export function leftOutOfOriginalEstimate(
  estimate: Estimate,
): { category: Category; name: string; monthlyUsd: number }[] {
  const covered = new Set<Category>(ORIGINAL_ESTIMATE.flatMap((row) => row.covers));
  const totals = new Map<Category, number>();
  for (const line of estimate.lines) {
    if (covered.has(line.category)) continue;
    totals.set(line.category, (totals.get(line.category) ?? 0) + line.monthlyUsd);
  }
  return [...totals]
    .filter(([category, total]) => total > 0 || category === "usage")
    .map(([category, total]) => ({
      category,
      name: CATEGORY_NAMES[category],
      monthlyUsd: Math.round(total * 100) / 100,
    }));
}

export interface ReportOptions {
  /** What was priced, e.g. "default configuration" or "profile lean". */
  configuration?: string;
  /** Where the prices come from. */
  priceSource?: string;
}

export function formatReport(estimate: Estimate, options: ReportOptions = {}): string {
  const rows = estimate.lines.map((l) => [l.address, usd(l.monthlyUsd), l.detail]);
  const width = (i: number) => Math.max(...rows.map((r) => r[i]?.length ?? 0), 10);
  const out: string[] = [];
  const what = options.configuration === undefined ? "" : `, ${options.configuration}`;
  out.push(
    `Monthly estimate, ${estimate.region}${what}, 730 h, on demand (fixed charges; usage-billed lines are $0 here)`,
  );
  out.push("");
  for (const [address = "", cost = "", detail = ""] of rows) {
    out.push(`  ${address.padEnd(width(0))}  ${cost.padStart(width(1))}  ${detail}`);
  }
  out.push(`  ${"TOTAL".padEnd(width(0))}  ${usd(estimate.totalUsd).padStart(width(1))}`);
  if (options.priceSource !== undefined) out.push(`  Prices: ${options.priceSource}.`);
  out.push("");
  const originalTotal = ORIGINAL_ESTIMATE.reduce((sum, row) => sum + row.monthlyUsd, 0);
  out.push("The original design's estimate");
  for (const row of ORIGINAL_ESTIMATE) out.push(`  ${row.item.padEnd(16)} ~${usd(row.monthlyUsd)}`);
  out.push(`  ${"TOTAL".padEnd(16)} ~${usd(originalTotal)}`);
  out.push("");
  out.push("Left out of the original design's estimate");
  for (const item of leftOutOfOriginalEstimate(estimate)) {
    out.push(`  ${item.name}: ${item.category === "usage" ? "billed by use" : usd(item.monthlyUsd)}`);
  }
  return out.join("\n") + "\n";
}

export interface ProfileOption {
  /** How to get it, e.g. "make deploy PROFILE=lean". */
  how: string;
  estimate: Estimate;
  settings: readonly ProfileSetting[];
}

export interface WhatIfOption {
  /** e.g. "standby controller (standby_controller = true)". */
  what: string;
  estimate: Estimate;
  note: string;
}

/** The options beside the priced configuration, each as its total and its difference from it. */
export function formatOptions(
  base: Estimate,
  profiles: readonly ProfileOption[],
  whatIfs: readonly WhatIfOption[],
): string {
  if (profiles.length === 0 && whatIfs.length === 0) return "";
  const diff = (e: Estimate) => {
    const d = Math.round((e.totalUsd - base.totalUsd) * 100) / 100;
    return d <= 0 ? `${usd(-d)} less` : `${usd(d)} more`;
  };
  const out = ["", `Options (${base.region}, against ${usd(base.totalUsd)})`];
  for (const p of profiles) {
    out.push(`  ${p.how}: ${usd(p.estimate.totalUsd)} a month, ${diff(p.estimate)}. Trade-offs:`);
    const width = Math.max(...p.settings.map((s) => `${s.variable} = ${s.value}`.length));
    for (const s of p.settings) out.push(`    ${`${s.variable} = ${s.value}`.padEnd(width)}  ${s.tradeOff}`);
  }
  for (const w of whatIfs) {
    out.push(`  ${w.what}: ${usd(w.estimate.totalUsd)} a month, ${diff(w.estimate)}. ${w.note}`);
  }
  return out.join("\n") + "\n";
}
