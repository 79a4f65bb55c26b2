/**
 * The CloudWatch agent's configuration, as the AMI has it: deploy/packer/files/cloudwatch-agent.json.tpl
 * rendered the way faas-boot.sh renders it (`@LOG_FILE@` → the role's log file, `@LOG_GROUP@` → its
 * group), then read the way the agent reads it: `logs.logs_collected.files.collect_list[]` with
 * `file_path`, `log_group_name`, `log_stream_name` (`{instance_id}` and `{hostname}` filled in),
 * `timestamp_format` and `timezone`, and `logs.force_flush_interval` in seconds (default 5).
 *
 * Where the emulated agent reads it differently: `timezone` "Local" is taken as UTC (the AMI's zone),
 * and only the strftime directives below are understood (another is a configuration error, not a
 * silently ignored format).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

/** The template the AMI ships (from dist/emulator/log-agent/, the checkout's root is three up). */
export const AGENT_TEMPLATE = path.resolve(
  __dirname,
  "..",
  "..",
  "..",
  "deploy",
  "packer",
  "files",
  "cloudwatch-agent.json.tpl",
);

const AgentJson = z.object({
  logs: z.object({
    force_flush_interval: z.number().int().positive().optional(),
    logs_collected: z.object({
      files: z.object({
        collect_list: z
          .array(
            z.object({
              file_path: z.string().min(1),
              log_group_name: z.string().min(1),
              log_stream_name: z.string().min(1).optional(),
              timestamp_format: z.string().optional(),
              timezone: z.enum(["Local", "UTC"]).optional(),
            }),
          )
          .min(1),
      }),
    }),
  }),
});

export interface CollectedFile {
  filePath: string;
  logGroupName: string;
  logStreamName: string;
  /** Finds a timestamp in a line (the agent's `timestamp_format`); undefined: none in the config. */
  timestampOf: ((line: string) => number | undefined) | undefined;
}

export interface AgentConfig {
  files: CollectedFile[];
  forceFlushIntervalMs: number;
}

/** faas-boot.sh's `sed -e "s#@LOG_FILE@#…#" -e "s#@LOG_GROUP@#…#"`. */
export function renderAgentTemplate(template: string, logFile: string, logGroup: string): string {
  return template.replaceAll("@LOG_FILE@", logFile).replaceAll("@LOG_GROUP@", logGroup);
}

export function renderAgentConfig(logFile: string, logGroup: string, template = AGENT_TEMPLATE): string {
  return renderAgentTemplate(readFileSync(template, "utf8"), logFile, logGroup);
}

export function parseAgentConfig(
  json: string,
  instance: { instanceId: string; hostname: string },
): AgentConfig {
  const parsed = AgentJson.parse(JSON.parse(json));
  return {
    forceFlushIntervalMs: (parsed.logs.force_flush_interval ?? 5) * 1000,
    files: parsed.logs.logs_collected.files.collect_list.map((f) => ({
      filePath: f.file_path,
      logGroupName: f.log_group_name,
      logStreamName: (f.log_stream_name ?? "{instance_id}")
        .replaceAll("{instance_id}", instance.instanceId)
        .replaceAll("{hostname}", instance.hostname),
      timestampOf: f.timestamp_format === undefined ? undefined : timestampParser(f.timestamp_format),
    })),
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
type Field = "year" | "year2" | "month" | "monthName" | "day" | "hour" | "minute" | "second" | "fraction";
const DIRECTIVES: Record<string, { re: string; field: Field }> = {
  Y: { re: "(\\d{4})", field: "year" },
  y: { re: "(\\d{2})", field: "year2" },
  m: { re: "(\\d{1,2})", field: "month" },
  b: { re: `(${MONTHS.join("|")})`, field: "monthName" },
  d: { re: "(\\d{1,2})", field: "day" },
  H: { re: "(\\d{1,2})", field: "hour" },
  M: { re: "(\\d{2})", field: "minute" },
  S: { re: "(\\d{2})", field: "second" },
  f: { re: "(\\d{1,9})", field: "fraction" },
};

/**
 * The agent's `timestamp_format`: the first place in the line that fits it gives the event's time (as
 * UTC); a line where nothing fits gets the time it was read. pino's `"time":"2026-05-10T12:00:00.123Z"`
 * fits `%Y-%m-%dT%H:%M:%S`, so on the AMI an event's timestamp is its line's own time, to the second.
 */
export function timestampParser(format: string): (line: string) => number | undefined {
  const fields: Field[] = [];
  let re = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i] ?? "";
    if (c === "%") {
      const d = DIRECTIVES[format[i + 1] ?? ""];
      if (d === undefined)
        throw new Error(`timestamp_format ${format}: %${format[i + 1] ?? ""} is not supported`);
      re += d.re;
      fields.push(d.field);
      i++;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const pattern = new RegExp(re);
  return (line) => {
    const m = pattern.exec(line);
    if (m === null) return undefined;
    const v: Partial<Record<Field, string>> = {};
    fields.forEach((f, k) => (v[f] = m[k + 1]));
    const year = v.year !== undefined ? Number(v.year) : v.year2 !== undefined ? 2000 + Number(v.year2) : NaN;
    const month = v.monthName !== undefined ? MONTHS.indexOf(v.monthName) : Number(v.month ?? 1) - 1;
    const ms = v.fraction !== undefined ? Math.floor(Number(`0.${v.fraction}`) * 1000) : 0;
    const t = Date.UTC(
      year,
      month,
      Number(v.day ?? 1),
      Number(v.hour ?? 0),
      Number(v.minute ?? 0),
      Number(v.second ?? 0),
      ms,
    );
    return Number.isNaN(t) ? undefined : t;
  };
}
