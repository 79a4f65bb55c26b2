/** Turns a component's JSON log line into one short readable line, prefixed with its source. */
const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const SKIP = new Set(["level", "time", "msg", "pid", "hostname", "component", "instanceId", "workerId"]);

export function formatLine(source: string, line: string, width = 32): string {
  const prefix = source.padEnd(width).slice(0, width);
  if (!line.startsWith("{")) return `${prefix} | ${line}`;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
    const level = typeof entry.level === "number" ? (LEVELS[entry.level] ?? String(entry.level)) : "";
    const extras = Object.entries(entry)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    const msg = typeof entry.msg === "string" ? entry.msg : "";
    return `${prefix} | ${time} ${level} ${msg}${extras ? `  ${extras}` : ""}`;
  } catch {
    return `${prefix} | ${line}`;
  }
}
