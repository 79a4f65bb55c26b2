/** The chaos run's outputs: one table on stdout, a JSON journal, and an HTML report with a timeline per scenario. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { RequestRecord } from "./load";
import type { LogLine } from "./instance-logs";
import { ms, ScenarioResult } from "./result";

export function renderTable(results: ScenarioResult[]): string {
  const head = [
    "scenario",
    "detect",
    "replace",
    "EIP serves",
    "steady",
    "raw failed",
    "client errors",
    "accepted",
    "completed",
    "lost",
    "ran twice",
    "error lines",
    "result",
  ];
  const rows = results.map((r) => [
    r.name,
    ms(r.marks.detected),
    ms(r.marks.replaced ?? r.marks.reRegistered),
    ms(r.marks.eipServes),
    ms(r.marks.steady),
    `${r.requests.rawFailedDuringFault}`,
    `${r.requests.failedDuringFault}/${r.requests.total}`,
    String(r.invocations.accepted),
    String(r.invocations.completed),
    String(r.invocations.lost),
    String(r.invocations.executedTwice),
    r.logs === undefined ? "-" : r.logs.unreadable !== undefined ? "unreadable" : String(r.logs.errors.count),
    r.passed ? "PASS" : "FAIL",
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  return all.map((row) => row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ")).join("\n");
}

export function writeReports(
  dir: string,
  meta: Record<string, unknown>,
  results: ScenarioResult[],
  records: RequestRecord[],
): { json: string; html: string } {
  const json = path.join(dir, "chaos-journal.json");
  writeFileSync(json, JSON.stringify({ ...meta, scenarios: results, requests: records }, null, 2));
  const html = path.join(dir, "chaos-report.html");
  writeFileSync(html, renderHtml(meta, results, records));
  return { json, html };
}

function renderHtml(
  meta: Record<string, unknown>,
  results: ScenarioResult[],
  records: RequestRecord[],
): string {
  const sections = results
    .map((r) => {
      const checks = r.checks
        .map(
          (c) =>
            `<li class="${c.ok ? "ok" : "bad"}">${c.ok ? "✔" : "✘"} ${esc(c.name)} <small>${esc(c.detail)}</small></li>`,
        )
        .join("");
      return `<section><h2>${r.passed ? "✔" : "✘"} ${esc(r.title)}</h2>
${timeline(
  r,
  records.filter((x) => x.at >= r.startedAt && x.at < r.endedAt),
)}
<table><tr><th>detect</th><th>replace</th><th>EIP serves</th><th>steady</th><th>raw failed requests</th><th>client-visible errors</th><th>accepted</th><th>completed</th><th>lost</th><th>ran twice</th></tr>
<tr><td>${ms(r.marks.detected)}</td><td>${ms(r.marks.replaced ?? r.marks.reRegistered)}</td><td>${ms(r.marks.eipServes)}</td><td>${ms(r.marks.steady)}</td><td>${r.requests.rawFailedDuringFault}</td><td>${r.requests.failedDuringFault}/${r.requests.total}</td><td>${r.invocations.accepted}</td><td>${r.invocations.completed}</td><td>${r.invocations.lost}</td><td>${r.invocations.executedTwice}</td></tr></table>
<ul>${checks}</ul>
${logSection(r)}</section>`;
    })
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Chaos report</title><style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}section{margin:2em 0;border-top:1px solid #ccc}
.meta{overflow-wrap:anywhere;font-size:12px;color:#444}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px}li.ok{color:#176f2c}li.bad{color:#b00020}
.legend span{display:inline-block;margin-right:1em}
pre.log{font-size:11px;background:#f6f6f6;padding:6px;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}</style></head><body>
<h1>Chaos report</h1><p class="meta">${esc(
    Object.entries(meta)
      .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" · "),
  )}</p>
<p class="legend"><span style="color:#2e7d32">■ succeeded / accepted</span><span style="color:#c62828">■ failed</span><span style="color:#f9a825">■ fault window</span><span>| marks: D detect, R replace, E Elastic IP serves, S steady</span></p>
${sections}</body></html>`;
}

/** Requests per 500 ms bucket, successes up and failures down, with the fault window and the marks. */
function timeline(r: ScenarioResult, records: RequestRecord[]): string {
  const width = 900;
  const height = 160;
  const mid = 100;
  const bucketMs = 500;
  const span = Math.max(1, r.endedAt - r.startedAt);
  const buckets = Math.ceil(span / bucketMs);
  const ok = new Array<number>(buckets).fill(0);
  const bad = new Array<number>(buckets).fill(0);
  for (const rec of records) {
    const b = Math.min(buckets - 1, Math.floor((rec.at - r.startedAt) / bucketMs));
    if (rec.error === undefined) ok[b] = (ok[b] ?? 0) + 1;
    else bad[b] = (bad[b] ?? 0) + 1;
  }
  const peak = Math.max(1, ...ok, ...bad);
  const x = (t: number) => ((t - r.startedAt) / span) * width;
  const bw = width / buckets;
  const bars = ok
    .map(
      (v, i) =>
        `<rect x="${(i * bw).toFixed(1)}" y="${(mid - (v / peak) * 90).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${((v / peak) * 90).toFixed(1)}" fill="#2e7d32"/>`,
    )
    .concat(
      bad.map(
        (v, i) =>
          `<rect x="${(i * bw).toFixed(1)}" y="${mid}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${((v / peak) * 55).toFixed(1)}" fill="#c62828"/>`,
      ),
    )
    .join("");
  const fault = `<rect x="${x(r.faultAt).toFixed(1)}" y="0" width="${Math.max(2, x(r.faultEndAt) - x(r.faultAt)).toFixed(1)}" height="${height}" fill="#f9a825" opacity="0.25"/>`;
  const marks = (
    [
      ["D", r.marks.detected],
      ["R", r.marks.replaced ?? r.marks.reRegistered],
      ["E", r.marks.eipServes],
      ["S", r.marks.steady],
    ] as const
  )
    .filter(([, v]) => v !== undefined)
    .map(([label, v]) => {
      const px = x(r.faultAt + (v ?? 0)).toFixed(1);
      return `<line x1="${px}" x2="${px}" y1="0" y2="${height}" stroke="#333" stroke-dasharray="3,3"/><text x="${px}" y="12" font-size="11">${label}</text>`;
    })
    .join("");
  const seconds = Math.floor(span / 1000);
  const ticks = Array.from({ length: Math.floor(seconds / 5) + 1 }, (_, i) => i * 5)
    .map(
      (s) =>
        `<text x="${x(r.startedAt + s * 1000).toFixed(1)}" y="${height - 2}" font-size="10" fill="#666">${s}s</text>`,
    )
    .join("");
  return `<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="requests over time">${fault}${bars}<line x1="0" x2="${width}" y1="${mid}" y2="${mid}" stroke="#999"/>${marks}${ticks}<text x="${width - 150}" y="12" font-size="10" fill="#666">peak ${peak} requests / 0.5 s</text></svg>`;
}

/** The scenario's error lines and its victim's last lines, as read back from CloudWatch Logs. */
function logSection(r: ScenarioResult): string {
  const logs = r.logs;
  if (logs === undefined) return "";
  if (logs.unreadable !== undefined)
    return `<h3>CloudWatch Logs</h3><p class="bad">could not be read: ${esc(logs.unreadable)}</p>`;
  const filters = logs.errors.filters.map((f) => `${f.group} ${f.pattern}`).join(", ") || "none";
  const shown =
    logs.errors.count > logs.errors.lines.length ? ` (the first ${logs.errors.lines.length} shown)` : "";
  const errors =
    logs.errors.lines.length === 0
      ? ""
      : `<pre class="log">${esc(logs.errors.lines.map(logLine).join("\n"))}</pre>`;
  const victim =
    logs.victim === undefined
      ? ""
      : `<h3>last lines of ${esc(logs.victim.role)} ${esc(logs.victim.instanceId)} (${esc(logs.victim.group)}, ${logs.victim.lastLines.length} of ${logs.victim.total})</h3>` +
        (logs.victim.lastLines.length === 0
          ? "<p>none read back</p>"
          : `<pre class="log">${esc(logs.victim.lastLines.map(logLine).join("\n"))}</pre>`);
  return `<h3>error lines: ${logs.errors.count}${shown} <small>metric filters: ${esc(filters)}</small></h3>${errors}${victim}`;
}

function logLine(l: LogLine): string {
  return `${new Date(l.at).toISOString()} ${l.stream} ${l.message}`;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}
