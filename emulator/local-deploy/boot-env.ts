/**
 * What an instance of a Terraform-deployed group would run with, read from its launch template's user
 * data instead of running it: the user data (deploy/terraform/user-data/*.tftpl) writes
 * /etc/faas/boot.env from a quoted here-document, and faas-boot.sh turns that into the service's
 * environment file. This module does the same in three steps, without a shell, systemd or the AWS CLI:
 *
 * 1. `parseBootEnv`: the boot.env lines, as the rendered user data holds them.
 * 2. `readBootSecrets`: the secrets faas-boot reads, from the same places (SSM by the FAAS_SSM_* names;
 *    for workers with FAAS_BOOT_SECRETS_FROM=s3, the FAAS_BOOT_SECRETS_OBJECT's lines), refusing an
 *    empty one as faas-boot does. A controller with FAAS_BOOT_TLS_MODE=self-signed also gets the API's
 *    certificate and key (FAAS_SSM_TLS_CERT/KEY), refused unless they are a pair whose certificate has
 *    the SHA-256 of FAAS_BOOT_TLS_FINGERPRINT, as faas-boot refuses them. tls_mode = acme is refused:
 *    the local cloud has neither Caddy nor an ACME CA to reach.
 * 3. `bootServiceEnv`: boot.env without faas-boot's own keys (FAAS_SSM_*, FAAS_BOOT_*, FAAS_ROLE,
 *    FAAS_LOG_GROUP, FAAS_REDIS_ENDPOINT), plus the secrets and FAAS_REDIS_URL — the service's
 *    environment file — then what the local cloud must place differently on one host:
 *    - FAAS_PORT, FAAS_HOST and the private listener's (controller) and FAAS_CONTROLLER_URL (workers)
 *      are left to the backend: each controller process gets ports of its own on 127.0.0.1, and the
 *      Elastic IP's address is the deployment's edge on 127.0.0.1 (moto's public IP of the address
 *      leads nowhere).
 *    - The certificate and key go where the deployment put them (LocalPlacement.tlsFiles), as faas-boot
 *      writes them to /etc/faas/tls, and FAAS_TLS_CERT_FILE/KEY_FILE name them.
 *    - FAAS_SANDBOX_UID_BASE and FAAS_SANDBOX_UID_COUNT are left to the backend, which holds a range
 *      for each worker that no other worker on this host holds (emulator/sandbox-uids.ts), so the
 *      deployment's sandboxes never share uids with `make dev`'s or each other's.
 *    - FAAS_REDIS_URL points at the deployment's own Redis, with the AUTH token from SSM as its
 *      password, over plain TCP: moto's ElastiCache has no server behind its endpoint, and the local
 *      Redis has no TLS (rediss:// on AWS).
 *    - The queue URLs go through the SQS endpoint the instances use, as private DNS does on AWS.
 *    Every other key reaches the service unchanged, and a key the role's service does not read is an
 *    error: the user data and the services must agree.
 */
import { checkPair } from "../../deploy/tls/api-certificate";
import { CONTROLLER_SETTINGS } from "../../services/controller/config";
import { WORKER_SETTINGS } from "../../services/worker/config";
import type { Role } from "../backends/backend";
import type { ServiceEnv } from "../service-env";
import { LocalDeployError } from "./errors";

export type BootEnv = ReadonlyMap<string, string>;

const HEREDOC = /cat > \/etc\/faas\/boot\.env <<'BOOT'\n([\s\S]*?)\nBOOT\n/;

/** The variables user data writes to /etc/faas/boot.env (a quoted here-document: nothing is expanded). */
export function parseBootEnv(userData: string): BootEnv {
  const body = HEREDOC.exec(userData)?.[1];
  if (body === undefined)
    throw new LocalDeployError("bad-user-data", "the user data writes no /etc/faas/boot.env");
  const env = new Map<string, string>();
  for (const line of body.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0 || !/^[A-Z][A-Z0-9_]*$/.test(line.slice(0, eq)))
      throw new LocalDeployError("bad-user-data", `boot.env has a line that is not KEY=value: ${line}`);
    env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

/** The instance's role, as FAAS_ROLE in boot.env names it. */
export function bootRole(boot: BootEnv): Role {
  const role = boot.get("FAAS_ROLE");
  if (role !== "controller" && role !== "worker")
    throw new LocalDeployError(
      "bad-user-data",
      `boot.env has FAAS_ROLE=${role ?? ""}, not controller or worker`,
    );
  return role;
}

export interface BootSecrets {
  /** The controller's only. */
  apiKey?: string;
  workerSecret: string;
  envKey: string;
  redisAuthToken: string;
  /** The controller's only, with FAAS_BOOT_TLS_MODE=self-signed: the public API's certificate. */
  tls?: ApiTls;
}

export interface ApiTls {
  cert: string;
  key: string;
  /** "AB:CD:…": the certificate's SHA-256, which clients pin. */
  fingerprint256: string;
}

/** Where faas-boot reads secrets: SSM parameters by name, S3 objects by s3:// URL. */
export interface SecretStore {
  parameter(name: string): Promise<string>;
  object(s3Url: string): Promise<string>;
}

/** The secrets faas-boot.sh reads for this boot.env, from the same places, refusing empty ones. */
export async function readBootSecrets(boot: BootEnv, store: SecretStore): Promise<BootSecrets> {
  const role = bootRole(boot);
  const need = (key: string): string => {
    const value = boot.get(key);
    if (value === undefined || value === "")
      throw new LocalDeployError("bad-user-data", `boot.env has no ${key}`);
    return value;
  };
  const nonEmpty = (what: string, value: string | undefined): string => {
    if (value === undefined || value === "" || value === "None")
      throw new LocalDeployError("missing-secret", `${what} is empty`);
    return value;
  };
  let secrets: BootSecrets;
  if (role === "worker" && boot.get("FAAS_BOOT_SECRETS_FROM") === "s3") {
    const object = need("FAAS_BOOT_SECRETS_OBJECT");
    const lines = new Map(
      (await store.object(object))
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
    );
    const from = (key: string) => nonEmpty(`${key} in ${object}`, lines.get(key));
    secrets = {
      workerSecret: from("FAAS_WORKER_SECRET"),
      envKey: from("FAAS_ENV_KEY"),
      redisAuthToken: from("FAAS_REDIS_AUTH_TOKEN"),
    };
  } else {
    const param = async (key: string) => {
      const name = need(key);
      return nonEmpty(name, await store.parameter(name));
    };
    secrets = {
      workerSecret: await param("FAAS_SSM_WORKER_SECRET"),
      envKey: await param("FAAS_SSM_ENV_KEY"),
      redisAuthToken: await param("FAAS_SSM_REDIS_AUTH_TOKEN"),
    };
  }
  if (role === "controller") {
    secrets.apiKey = nonEmpty("the API key", await store.parameter(need("FAAS_SSM_API_KEY")));
    const tls = await readApiTls(boot, store, need, nonEmpty);
    if (tls !== undefined) secrets.tls = tls;
  }
  return secrets;
}

/** The controller's certificate by FAAS_BOOT_TLS_MODE, checked as faas-boot.sh checks it. */
async function readApiTls(
  boot: BootEnv,
  store: SecretStore,
  need: (key: string) => string,
  nonEmpty: (what: string, value: string | undefined) => string,
): Promise<ApiTls | undefined> {
  const mode = boot.get("FAAS_BOOT_TLS_MODE") ?? "off";
  switch (mode) {
    case "off":
    case "":
      return undefined;
    case "acme":
      throw new LocalDeployError(
        "unsupported",
        "tls_mode = acme needs Caddy and an ACME CA that reaches the domain, which the local cloud has not: deploy it here with tls_mode = self-signed (the default) or off",
      );
    case "self-signed": {
      const names = { cert: need("FAAS_SSM_TLS_CERT"), key: need("FAAS_SSM_TLS_KEY") };
      const pinned = need("FAAS_BOOT_TLS_FINGERPRINT");
      const pair = {
        cert: nonEmpty("the API's certificate", await store.parameter(names.cert)),
        key: nonEmpty("the API's private key", await store.parameter(names.key)),
      };
      let fingerprint256: string;
      try {
        fingerprint256 = checkPair(pair, names);
      } catch (err) {
        throw new LocalDeployError("bad-certificate", (err as Error).message);
      }
      if (fingerprint256 !== pinned)
        throw new LocalDeployError(
          "bad-certificate",
          `the certificate in ${names.cert} has SHA-256 ${fingerprint256}, not the ${pinned} that clients pin`,
        );
      return { ...pair, fingerprint256 };
    }
    default:
      throw new LocalDeployError(
        "bad-user-data",
        `boot.env has FAAS_BOOT_TLS_MODE=${mode}, not self-signed, acme or off`,
      );
  }
}

/** faas-boot's own settings: they never reach the service (faas-boot.sh filters them the same way). */
const BOOT_ONLY = /^(FAAS_SSM_|FAAS_BOOT_|FAAS_ROLE$|FAAS_LOG_GROUP$|FAAS_REDIS_ENDPOINT$)/;

/** Where the instance is on this host: the backend gives it, not the user data (see the header). */
const PLACED_BY_BACKEND = new Set([
  "FAAS_HOST",
  "FAAS_PORT",
  "FAAS_PRIVATE_HOST",
  "FAAS_PRIVATE_PORT",
  "FAAS_CONTROLLER_URL",
  "FAAS_SANDBOX_UID_BASE",
  "FAAS_SANDBOX_UID_COUNT",
]);

/** Read by the AWS SDK, not by the services' own settings. */
const SDK_VARS = new Set(["AWS_REGION"]);

export interface LocalPlacement {
  /** The deployment's Redis, host:port on 127.0.0.1 (its password is the AUTH token). */
  redisHostPort: string;
  /** A queue URL as the instances address it (through the SQS endpoint). */
  queueUrl: (url: string) => string;
  /** Where the deployment wrote the API's certificate and key (mode 600), when the controller has them. */
  tlsFiles?: { certFile: string; keyFile: string };
}

/** The service's environment for this boot.env (see the header for what the local cloud changes). */
export function bootServiceEnv(boot: BootEnv, secrets: BootSecrets, local: LocalPlacement): ServiceEnv {
  const role = bootRole(boot);
  const settings: Record<string, unknown> = role === "controller" ? CONTROLLER_SETTINGS : WORKER_SETTINGS;
  const env: Record<string, string> = {
    // The instance role's credentials: the local cloud takes any.
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  };
  for (const [key, value] of boot) {
    if (BOOT_ONLY.test(key) || PLACED_BY_BACKEND.has(key)) continue;
    if (!(key in settings) && !SDK_VARS.has(key))
      throw new LocalDeployError("bad-user-data", `boot.env sets ${key}, which the ${role} does not read`);
    env[key] = key === "FAAS_QUEUE_URL" || key === "FAAS_DLQ_URL" ? local.queueUrl(value) : value;
  }
  if (role === "controller") env.FAAS_API_KEY = secrets.apiKey ?? "";
  if (role === "controller" && secrets.tls !== undefined) {
    if (local.tlsFiles === undefined)
      throw new LocalDeployError(
        "bad-user-data",
        "the controller serves HTTPS but no certificate files were placed",
      );
    env.FAAS_TLS_CERT_FILE = local.tlsFiles.certFile;
    env.FAAS_TLS_KEY_FILE = local.tlsFiles.keyFile;
  }
  env.FAAS_WORKER_SECRET = secrets.workerSecret;
  env.FAAS_ENV_KEY = secrets.envKey;
  env.FAAS_REDIS_URL = `redis://:${secrets.redisAuthToken}@${local.redisHostPort}`;
  // Every key was checked against the role's settings above.
  return role === "controller" ? { role, env } : { role, env };
}
