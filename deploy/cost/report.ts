/** The text `faas cost` prints: the estimate per resource, the original design's estimate, and what it left out. */
import { Estimate } from "./estimate";
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

export function formatReport(estimate: Estimate): string {
  const rows = estimate.lines.map((l) => [l.address, usd(l.monthlyUsd), l.detail]);
  const width = (i: number) => Math.max(...rows.map((r) => r[i]?.length ?? 0), 10);
  const out: string[] = [];
  out.push(
    `Monthly estimate, ${estimate.region}, 730 h, on demand (fixed charges; usage-billed lines are $0 here)`,
  );
  out.push("");
  for (const [address = "", cost = "", detail = ""] of rows) {
    out.push(`  ${address.padEnd(width(0))}  ${cost.padStart(width(1))}  ${detail}`);
  }
  out.push(`  ${"TOTAL".padEnd(width(0))}  ${usd(estimate.totalUsd).padStart(width(1))}`);
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
