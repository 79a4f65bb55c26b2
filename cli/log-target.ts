/**
 * Which CloudWatch Logs `faas logs` and `faas fn logs` read: `--endpoint`, or the running dev
 * environment's AWS emulator (from its control API, as `faas dev status` finds it), or — with neither —
 * AWS itself through the SDK's usual chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL...). Groups are
 * `/<prefix>/<role>`, the names the local cloud and the Terraform give them (prefix "faas" by default).
 */
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { EnvironmentStatus } from "../emulator/admin-server";
import { adminRequest } from "./admin";
import { loadCliConfig, pidAlive, readDevState } from "./config";
import { UserError } from "./errors";

export interface LogTarget {
  client: CloudWatchLogsClient;
  /** Where it reads, for messages: the endpoint, or "AWS". */
  where: string;
}

export async function logTarget(endpoint: string | undefined): Promise<LogTarget> {
  const local = endpoint ?? (await runningEnvironmentEndpoint());
  if (local === undefined) return { client: new CloudWatchLogsClient({}), where: "AWS" };
  const env = process.env;
  return {
    client: new CloudWatchLogsClient({
      endpoint: local,
      region: env.AWS_REGION ?? "us-east-1",
      // The local cloud's emulator takes any key; real keys in the environment are used as they are.
      credentials:
        env.AWS_ACCESS_KEY_ID !== undefined && env.AWS_SECRET_ACCESS_KEY !== undefined
          ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
          : { accessKeyId: "test", secretAccessKey: "test" },
    }),
    where: local,
  };
}

async function runningEnvironmentEndpoint(): Promise<string | undefined> {
  const state = readDevState(loadCliConfig());
  if (state === undefined || !pidAlive(state.pid)) return undefined;
  const status = (await adminRequest("GET", "/status")) as EnvironmentStatus;
  return status.awsEndpoint;
}

/** `--since`: `90s`, `10m`, `2h`, `1d`, or a date; answers epoch milliseconds. */
export function parseSince(value: string, now = Date.now()): number {
  const relative = /^(\d+)([smhd])$/.exec(value.trim());
  if (relative !== null) {
    const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[relative[2] as "s" | "m" | "h" | "d"];
    return now - Number(relative[1]) * unit;
  }
  const date = Date.parse(value);
  if (Number.isNaN(date))
    throw new UserError(
      `--since ${value}: give a duration (30s, 10m, 2h, 1d) or a date (2026-05-10T12:00:00Z)`,
    );
  return date;
}

/** A CloudWatch error the user can act on, said so; anything else as it is. */
export function explainLogsError(err: unknown, group: string, where: string): unknown {
  const name = (err as { name?: string }).name;
  if (name === "ResourceNotFoundException")
    return new UserError(`no log group ${group} at ${where}: check --prefix (and --endpoint)`);
  if (name === "CredentialsProviderError" || name === "UnrecognizedClientException")
    return new UserError(`cannot read ${group} at ${where}: ${(err as Error).message}`);
  if ((err as { code?: string }).code === "ECONNREFUSED")
    return new UserError(`nothing answers at ${where}: is \`make dev\` running (or is --endpoint right)?`);
  return err;
}
