/**
 * emulator/local-deploy/boot-env.ts on the real user-data templates (deploy/terraform/user-data), rendered
 * the way Terraform's templatefile does for these files (each ${var} replaced), with no shell run.
 */
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  bootServiceEnv,
  parseBootEnv,
  readBootSecrets,
  SecretStore,
} from "../../emulator/local-deploy/boot-env";
import { LocalDeployError } from "../../emulator/local-deploy/errors";
import { checkServiceEnv, withBackendVars, CHECK_BACKEND_VARS } from "../../emulator/service-env";
import { selfSignedCertificate } from "../../emulator/tls";
import { TLS_OFF_TEMPLATE_VARS } from "../fixtures/user-data";

const templates = path.resolve(__dirname, "..", "..", "..", "deploy", "terraform", "user-data");

/** templatefile() for templates that use only ${name} interpolations. */
function render(role: "controller" | "worker", vars: Record<string, string>): string {
  const text = readFileSync(path.join(templates, `${role}.sh.tftpl`), "utf8");
  return text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined)
      throw new Error(`the ${role} template uses \${${name}}, which the test does not set`);
    return value;
  });
}

const common = {
  region: "us-east-1",
  queue_url: "http://127.0.0.1:4566/000000000000/fd-tasks",
  bucket: "fd-functions-000000000000-us-east-1",
  redis_endpoint: "master.fd-redis.abc.use1.cache.amazonaws.com:6379",
  worker_secret_param: "/fd/worker-secret",
  redis_token_param: "/fd/redis-auth-token",
  env_key_param: "/fd/env-key",
};
const controllerVars = {
  ...common,
  port: "8080",
  private_port: "8081",
  dlq_url: "http://127.0.0.1:4566/000000000000/fd-tasks-dlq",
  table: "fd-functions",
  allocation_id: "eipalloc-0123",
  eip_tag: "fd-controller",
  eip_mode: "boot",
  api_key_param: "/fd/api-key",
  log_group: "/fd/controller",
  asg_name: "fd-controller",
  // tls_mode = off: every TLS key of the template, empty.
  ...TLS_OFF_TEMPLATE_VARS,
};
const workerVars = {
  ...common,
  controller_url: "http://3.4.5.6:8080",
  slots: "2",
  visibility_timeout: "60",
  sandbox_uid_base: "100000",
  sandbox_uid_count: "1000",
  log_group: "/fd/worker",
  asg_name: "fd-workers",
  secrets_from: "ssm",
  secrets_object: "s3://fd-functions-000000000000-us-east-1/secrets/worker.env",
  logs_to: "cloudwatch",
  logs_s3_prefix: "s3://fd-functions-000000000000-us-east-1/logs/worker",
};

const ssm: Record<string, string> = {
  "/fd/api-key": "api-key-0123456789abcdef",
  "/fd/worker-secret": "worker-secret-0123456789",
  "/fd/redis-auth-token": "redis-token-0123456789",
  "/fd/env-key": "env-key-0123456789abcdef0123456789abcdef",
};
const store = (params: Record<string, string>, objects: Record<string, string> = {}): SecretStore => ({
  parameter: (name) => Promise.resolve(params[name] ?? ""),
  object: (url) => Promise.resolve(objects[url] ?? ""),
});
const placement = {
  redisHostPort: "127.0.0.1:40001",
  queueUrl: (url: string) => url.replace("127.0.0.1:4566", "127.0.0.1:40002"),
};

describe("local deploy: the environment user data gives an instance", () => {
  it("reads boot.env from the rendered controller user data and builds what faas-boot writes", async () => {
    const boot = parseBootEnv(render("controller", controllerVars));
    expect(boot.get("FAAS_ROLE")).to.equal("controller");
    expect(boot.get("FAAS_EIP_ALLOCATION_ID")).to.equal("eipalloc-0123");
    const secrets = await readBootSecrets(boot, store(ssm));
    const service = bootServiceEnv(boot, secrets, placement);
    expect(service.role).to.equal("controller");
    const env = service.env as Record<string, string | undefined>;
    expect(env.FAAS_API_KEY).to.equal(ssm["/fd/api-key"]);
    expect(env.FAAS_WORKER_SECRET).to.equal(ssm["/fd/worker-secret"]);
    expect(env.FAAS_ENV_KEY).to.equal(ssm["/fd/env-key"]);
    expect(env.FAAS_REDIS_URL).to.equal("redis://:redis-token-0123456789@127.0.0.1:40001");
    expect(env.FAAS_QUEUE_URL).to.equal("http://127.0.0.1:40002/000000000000/fd-tasks");
    expect(env.FAAS_DLQ_URL).to.equal("http://127.0.0.1:40002/000000000000/fd-tasks-dlq");
    expect(env.FAAS_TABLE).to.equal("fd-functions");
    expect(env.FAAS_EIP_MODE).to.equal("boot");
    expect(env.AWS_REGION).to.equal("us-east-1");
    // faas-boot's own keys never reach the service; the port is the backend's.
    for (const key of Object.keys(env))
      expect(key).to.not.match(/^FAAS_(SSM|BOOT)_|^FAAS_ROLE$|^FAAS_LOG_GROUP$/);
    expect(env).to.not.have.property("FAAS_PORT");
    expect(env).to.not.have.property("FAAS_PRIVATE_PORT");
    expect(env).to.not.have.property("FAAS_REDIS_ENDPOINT");
    checkServiceEnv(withBackendVars(service, CHECK_BACKEND_VARS));
  });

  it("gives a worker its settings, not the API key, and leaves its controller URL and uid range to the backend", async () => {
    const boot = parseBootEnv(render("worker", workerVars));
    const service = bootServiceEnv(boot, await readBootSecrets(boot, store(ssm)), placement);
    expect(service.role).to.equal("worker");
    const env = service.env as Record<string, string | undefined>;
    expect(env).to.not.have.property("FAAS_API_KEY");
    expect(env).to.not.have.property("FAAS_CONTROLLER_URL");
    expect(env).to.not.have.property("FAAS_SANDBOX_UID_BASE");
    expect(env.FAAS_SANDBOX_CGROUPS).to.equal("required");
    expect(env).to.not.have.property("FAAS_SANDBOX_UID_COUNT");
    expect(env.FAAS_WORKER_SLOTS).to.equal("2");
    expect(env.FAAS_VISIBILITY_TIMEOUT_S).to.equal("60");
    checkServiceEnv(withBackendVars(service, CHECK_BACKEND_VARS));
  });

  it("reads a lean worker's secrets from its S3 object, as faas-boot does", async () => {
    const boot = parseBootEnv(render("worker", { ...workerVars, secrets_from: "s3" }));
    const object =
      "FAAS_WORKER_SECRET=s3-worker-secret-0123\nFAAS_ENV_KEY=s3-env-key-0123456789abcdef0123456789ab\nFAAS_REDIS_AUTH_TOKEN=s3-redis-token-0123\n";
    const secrets = await readBootSecrets(boot, store({}, { [workerVars.secrets_object]: object }));
    expect(secrets).to.deep.equal({
      workerSecret: "s3-worker-secret-0123",
      envKey: "s3-env-key-0123456789abcdef0123456789ab",
      redisAuthToken: "s3-redis-token-0123",
    });
  });

  it("fails closed on an empty secret, as faas-boot does", async () => {
    const boot = parseBootEnv(render("controller", controllerVars));
    const err = await readBootSecrets(boot, store({ ...ssm, "/fd/env-key": "" })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(LocalDeployError);
    expect((err as LocalDeployError).code).to.equal("missing-secret");
  });

  describe("the API's certificate (tls_mode)", function () {
    let dir = "";
    let cert = "";
    let key = "";
    let fingerprint = "";
    let otherKey = "";
    const selfSigned = () => ({
      ...controllerVars,
      tls_mode: "self-signed",
      tls_cert_param: "/fd/tls-cert",
      tls_key_param: "/fd/tls-key",
      tls_fingerprint: fingerprint,
    });
    const tlsFiles = { certFile: "/run/fd/tls/cert.pem", keyFile: "/run/fd/tls/key.pem" };
    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), "faas-boot-env-tls-"));
      const made = await selfSignedCertificate(mkdtempSync(path.join(dir, "a-")), { ips: ["127.0.0.1"] });
      cert = readFileSync(made.certFile, "utf8");
      key = readFileSync(made.keyFile, "utf8");
      fingerprint = made.fingerprint256;
      const other = await selfSignedCertificate(mkdtempSync(path.join(dir, "b-")), { ips: ["127.0.0.1"] });
      otherKey = readFileSync(other.keyFile, "utf8");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("self-signed: reads the pair from SSM and names the placed files; the listeners stay the backend's", async () => {
      const boot = parseBootEnv(render("controller", selfSigned()));
      const secrets = await readBootSecrets(
        boot,
        store({ ...ssm, "/fd/tls-cert": cert, "/fd/tls-key": key }),
      );
      expect(secrets.tls).to.deep.equal({ cert, key, fingerprint256: fingerprint });
      const env = bootServiceEnv(boot, secrets, { ...placement, tlsFiles }).env as Record<
        string,
        string | undefined
      >;
      expect(env.FAAS_TLS_CERT_FILE).to.equal(tlsFiles.certFile);
      expect(env.FAAS_TLS_KEY_FILE).to.equal(tlsFiles.keyFile);
      for (const placed of ["FAAS_HOST", "FAAS_PRIVATE_HOST", "FAAS_PORT", "FAAS_PRIVATE_PORT"])
        expect(env, placed).to.not.have.property(placed);
      expect(JSON.stringify(env), "the key itself is in a file, not the environment").to.not.contain(
        "PRIVATE KEY",
      );
      expect(() => bootServiceEnv(boot, secrets, placement)).to.throw(
        LocalDeployError,
        /no certificate files/,
      );
    });

    it("self-signed: refuses what faas-boot refuses (a missing, foreign or mismatched certificate)", async () => {
      const boot = parseBootEnv(render("controller", selfSigned()));
      const code = async (params: Record<string, string>) =>
        (
          (await readBootSecrets(boot, store({ ...ssm, ...params })).catch(
            (e: unknown) => e,
          )) as LocalDeployError
        ).code;
      expect(await code({ "/fd/tls-key": key })).to.equal("missing-secret");
      expect(await code({ "/fd/tls-cert": cert, "/fd/tls-key": otherKey })).to.equal("bad-certificate");
      const pinnedElse = parseBootEnv(
        render("controller", { ...selfSigned(), tls_fingerprint: "AB:".repeat(31) + "AB" }),
      );
      const err = (await readBootSecrets(
        pinnedElse,
        store({ ...ssm, "/fd/tls-cert": cert, "/fd/tls-key": key }),
      ).catch((e: unknown) => e)) as LocalDeployError;
      expect(err).to.be.instanceOf(LocalDeployError);
      expect(err.message).to.contain(`has SHA-256 ${fingerprint}, not the AB:AB`);
    });

    it("off: no certificate; acme: refused, with what to use instead", async () => {
      const off = parseBootEnv(render("controller", controllerVars));
      const secrets = await readBootSecrets(off, store(ssm));
      expect(secrets.tls).to.equal(undefined);
      expect(bootServiceEnv(off, secrets, placement).env).to.not.have.property("FAAS_TLS_CERT_FILE");
      const acme = parseBootEnv(
        render("controller", {
          ...controllerVars,
          tls_mode: "acme",
          api_host: "127.0.0.1",
          tls_domain: "api.example.com",
          acme_ca: "https://acme-v02.api.letsencrypt.org/directory",
          caddy_storage: "s3://fd-functions-000000000000-us-east-1/tls/caddy",
        }),
      );
      const err = (await readBootSecrets(acme, store(ssm)).catch((e: unknown) => e)) as LocalDeployError;
      expect(err.code).to.equal("unsupported");
      expect(err.message).to.contain("tls_mode = self-signed (the default) or off");
    });
  });

  it("refuses user data without a boot.env, and a key the service does not read", async () => {
    expect(() => parseBootEnv("#!/bin/bash\necho hi\n")).to.throw(LocalDeployError, /boot.env/);
    const withTypo = render("controller", controllerVars).replace("FAAS_TABLE=", "FAAS_TABEL=");
    const boot = parseBootEnv(withTypo);
    const secrets = await readBootSecrets(boot, store(ssm));
    expect(() => bootServiceEnv(boot, secrets, placement)).to.throw(LocalDeployError, /FAAS_TABEL/);
  });
});
