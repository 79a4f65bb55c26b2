/**
 * The instances' boot and watchdog scripts (deploy/packer/files), run under bash with the boot.env that
 * the real user-data templates render, and fake `aws`, `systemctl` and `curl` first on PATH that record
 * their arguments and answer as the test says: a unit test at the command interface. Nothing touches
 * this machine's systemd, AWS or metadata service; files go to a temporary folder (FAAS_ETC, FAAS_RUN).
 */
import { spawnSync } from "node:child_process";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { selfSignedCertificate } from "../../emulator/tls";
import { TLS_OFF_TEMPLATE_VARS } from "../fixtures/user-data";
import { repoRoot } from "./terraform-cli";

const files = path.join(repoRoot, "deploy", "packer", "files");
const userDataDir = path.join(repoRoot, "deploy", "terraform", "user-data");

const FAKE_AWS = `#!/bin/bash
# Records the call; answers from files in $FAKE.
echo "aws $*" >>"$FAKE/calls"
case "$1 $2" in
  "ssm get-parameter")
    while (($#)); do if [[ "$1" == --name ]]; then name="$2"; fi; shift; done
    f="$FAKE/ssm/$(echo "$name" | tr / _)"
    if [[ -f "$f" ]]; then cat "$f"; exit 0; fi
    echo "Could not connect to the endpoint URL" >&2; exit 255 ;;
  "s3 cp")
    if [[ -f "$FAKE/s3-object" ]]; then cat "$FAKE/s3-object"; exit 0; fi
    echo "fatal error: An error occurred (403)" >&2; exit 1 ;;
  "autoscaling set-instance-health")
    exit "$(cat "$FAKE/asg-exit" 2>/dev/null || echo 0)" ;;
  "s3 sync")
    exit "$(cat "$FAKE/sync-exit" 2>/dev/null || echo 0)" ;;
esac
echo "fake aws: unexpected call" >&2; exit 2
`;
const FAKE_SYSTEMCTL = `#!/bin/bash
echo "systemctl $*" >>"$FAKE/calls"
case "$1" in
  show) cat "$FAKE/nrestarts" 2>/dev/null || echo 0 ;;
  is-active) exit "$(cat "$FAKE/active-exit" 2>/dev/null || echo 0)" ;;
  start) exit "$(cat "$FAKE/start-exit" 2>/dev/null || echo 0)" ;;
esac
exit 0
`;
const FAKE_CURL = `#!/bin/bash
echo "curl $*" >>"$FAKE/calls"
case "$*" in
  *latest/api/token*) echo token-1 ;;
  *meta-data/instance-id*) echo i-0fake ;;
  *healthz*) exit "$(cat "$FAKE/healthz-exit" 2>/dev/null || echo 0)" ;;
  *) exit 7 ;;
esac
`;

interface Instance {
  dir: string;
  fake: string;
  etc: string;
  /** Caddy's configuration folder and data folder (FAAS_CADDY_ETC, FAAS_CADDY_DATA). */
  caddyEtc: string;
  caddyData: string;
  set(name: string, content: string): void;
  ssm(name: string, value: string): void;
  run(script: string, ...args: string[]): { status: number | null; stderr: string };
  calls(): string[];
  env(role: string): string | undefined;
}

/** The boot.env the role's user-data template writes, rendered with these settings. */
function renderBootEnv(role: "controller" | "worker", settings: Record<string, string | number>): string {
  const template = fs.readFileSync(path.join(userDataDir, `${role}.sh.tftpl`), "utf8");
  const rendered = template.replace(/\$\{(\w+)\}/g, (_, key: string) => {
    const value = settings[key];
    if (value === undefined) throw new Error(`the ${role} template needs ${key}`);
    return String(value);
  });
  const body = /<<'BOOT'\n([\s\S]*?)\nBOOT\n/.exec(rendered)?.[1];
  if (body === undefined) throw new Error(`no boot.env in the ${role} template`);
  return body + "\n";
}

const common = {
  region: "us-east-1",
  queue_url: "https://sqs.us-east-1.amazonaws.com/000000000000/faas-tasks",
  bucket: "faas-functions-000000000000-us-east-1",
  redis_endpoint: "master.faas-redis.x.use1.cache.amazonaws.com:6379",
  worker_secret_param: "/faas/worker-secret",
  redis_token_param: "/faas/redis-auth-token",
  env_key_param: "/faas/env-key",
};
const controllerSettings = {
  ...common,
  port: 8080,
  private_port: 8081,
  dlq_url: "https://sqs.us-east-1.amazonaws.com/000000000000/faas-tasks-dlq",
  table: "faas-functions",
  allocation_id: "eipalloc-1",
  eip_tag: "faas-controller",
  eip_mode: "boot",
  api_key_param: "/faas/api-key",
  log_group: "/faas/controller",
  asg_name: "faas-controller",
  // tls_mode = off: every TLS key of the template, empty.
  ...TLS_OFF_TEMPLATE_VARS,
};
const acmeSettings = {
  ...controllerSettings,
  tls_mode: "acme",
  api_host: "127.0.0.1",
  tls_domain: "api.example.com",
  acme_email: "ops@example.com",
  acme_ca: "https://acme-v02.api.letsencrypt.org/directory",
  caddy_storage: "s3://faas-functions-000000000000-us-east-1/tls/caddy",
};
const workerSettings = (secretsFrom: "ssm" | "s3", logsTo: "cloudwatch" | "s3") => ({
  ...common,
  controller_url: "http://ec2-1-2-3-4.compute-1.amazonaws.com:8081",
  slots: 2,
  visibility_timeout: 60,
  sandbox_uid_base: 100000,
  sandbox_uid_count: 1000,
  log_group: "/faas/worker",
  asg_name: "faas-workers",
  secrets_from: secretsFrom,
  secrets_object: "s3://faas-functions-000000000000-us-east-1/secrets/worker.env",
  logs_to: logsTo,
  logs_s3_prefix: "s3://faas-functions-000000000000-us-east-1/logs/worker",
});

function instance(bootEnv: string): Instance {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-boot-test-"));
  const fake = path.join(dir, "fake");
  const bin = path.join(dir, "bin");
  const etc = path.join(dir, "etc");
  const caddyEtc = path.join(dir, "caddy-etc");
  const caddyData = path.join(dir, "caddy-data");
  for (const d of [fake, path.join(fake, "ssm"), bin, etc, caddyEtc]) fs.mkdirSync(d, { recursive: true });
  for (const [name, body] of [
    ["aws", FAKE_AWS],
    ["systemctl", FAKE_SYSTEMCTL],
    ["curl", FAKE_CURL],
  ] as const) {
    fs.writeFileSync(path.join(bin, name), body, { mode: 0o755 });
  }
  fs.writeFileSync(path.join(etc, "boot.env"), bootEnv);
  return {
    dir,
    fake,
    etc,
    caddyEtc,
    caddyData,
    set: (name, content) => fs.writeFileSync(path.join(fake, name), content),
    ssm: (name, value) => fs.writeFileSync(path.join(fake, "ssm", name.replace(/\//g, "_")), value + "\n"),
    run: (script, ...args) => {
      const r = spawnSync("bash", [path.join(files, script), ...args], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          FAKE: fake,
          FAAS_ETC: etc,
          FAAS_BIN: files,
          FAAS_RUN: path.join(dir, "run"),
          FAAS_BOOT_ATTEMPTS: "2",
          FAAS_BOOT_RETRY_DELAY_S: "0",
          // This machine has no faas or caddy user: the files go to whoever runs the test.
          FAAS_SERVICE_USER: os.userInfo().username,
          FAAS_CADDY_USER: os.userInfo().username,
          FAAS_CADDY_ETC: caddyEtc,
          FAAS_CADDY_DATA: caddyData,
        },
      });
      return { status: r.status, stderr: r.stderr };
    },
    calls: () =>
      fs.existsSync(path.join(fake, "calls"))
        ? fs.readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n")
        : [],
    env: (role) =>
      fs.existsSync(path.join(etc, `${role}.env`))
        ? fs.readFileSync(path.join(etc, `${role}.env`), "utf8")
        : undefined,
  };
}

const SECRETS = {
  worker: "worker-secret-0123456789abcdef",
  env: "env-key-0123456789abcdef0123456789abcdef",
  redis: "redis-token-0123456789abcdef",
  api: "api-key-0123456789abcdef",
};
const MARK_UNHEALTHY =
  "aws autoscaling set-instance-health --region us-east-1 --instance-id i-0fake --health-status Unhealthy --no-should-respect-grace-period --cli-connect-timeout 5 --cli-read-timeout 10";

describe("instance boot scripts (fake aws, systemctl, curl)", function () {
  const made: Instance[] = [];
  const make = (bootEnv: string) => {
    const i = instance(bootEnv);
    made.push(i);
    return i;
  };
  const withSsmSecrets = (i: Instance) => {
    i.ssm("/faas/worker-secret", SECRETS.worker);
    i.ssm("/faas/env-key", SECRETS.env);
    i.ssm("/faas/redis-auth-token", SECRETS.redis);
    i.ssm("/faas/api-key", SECRETS.api);
  };
  after(() => {
    for (const i of made) fs.rmSync(i.dir, { recursive: true, force: true });
  });

  describe("faas-boot", function () {
    it("writes the worker's environment from SSM and starts the worker, then its watchdog", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      withSsmSecrets(i);
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      const env = i.env("worker")!;
      expect(env).to.contain(`FAAS_WORKER_SECRET=${SECRETS.worker}\n`);
      expect(env).to.contain(`FAAS_ENV_KEY=${SECRETS.env}\n`);
      expect(env).to.contain(`FAAS_REDIS_URL=rediss://:${SECRETS.redis}@${common.redis_endpoint}\n`);
      expect(env).to.contain("FAAS_SANDBOX_CGROUPS=required\n");
      expect(env, "boot-only settings stay out of the service").to.not.match(
        /FAAS_BOOT_|FAAS_SSM_|FAAS_ROLE=/,
      );
      expect(env, "workers never get the API key").to.not.contain(SECRETS.api);
      expect(fs.statSync(path.join(i.etc, "worker.env")).mode & 0o777).to.equal(0o600);
      const systemd = i.calls().filter((c) => c.startsWith("systemctl"));
      expect(systemd).to.deep.equal([
        "systemctl start faas-worker.service",
        "systemctl enable --now faas-watchdog.timer",
      ]);
      expect(i.calls().some((c) => c.includes("set-instance-health"))).to.equal(false);
    });

    it("gives the controller its API key too", () => {
      const i = make(renderBootEnv("controller", controllerSettings));
      withSsmSecrets(i);
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      expect(i.env("controller")).to.contain(`FAAS_API_KEY=${SECRETS.api}\n`);
      expect(i.env("controller")).to.contain("FAAS_EIP_ALLOCATION_ID=eipalloc-1\n");
    });

    it("passes the Elastic IP mode on to the controller: lease with a standby (standby_controller)", () => {
      const i = make(renderBootEnv("controller", { ...controllerSettings, eip_mode: "lease" }));
      withSsmSecrets(i);
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      expect(i.env("controller")).to.contain("FAAS_EIP_MODE=lease\n");
    });

    it("fails closed on a failed SSM read: exit non-zero, no service, marked Unhealthy in its own group", () => {
      const i = make(renderBootEnv("controller", controllerSettings));
      withSsmSecrets(i);
      fs.rmSync(path.join(i.fake, "ssm", "_faas_env-key"));
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain("faas-boot failed");
      expect(r.stderr).to.contain("while reading /faas/env-key from SSM");
      expect(
        i.calls().filter((c) => c.includes("--name /faas/env-key")),
        "retried",
      ).to.have.length(2);
      expect(i.env("controller"), "no environment file").to.equal(undefined);
      expect(i.calls().filter((c) => c.startsWith("systemctl"))).to.deep.equal([]);
      expect(i.calls()).to.include(MARK_UNHEALTHY);
    });

    it("powers off when SetInstanceHealth cannot be reached (workers have no Auto Scaling endpoint)", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      i.set("asg-exit", "255");
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(i.calls()).to.include(MARK_UNHEALTHY.replace("faas-controller", "faas-workers"));
      expect(i.calls().filter((c) => c.startsWith("systemctl"))).to.deep.equal([
        "systemctl poweroff --no-block",
      ]);
    });

    it("treats an empty secret as a failure", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      withSsmSecrets(i);
      i.ssm("/faas/worker-secret", "");
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain("the worker secret is empty");
      expect(i.env("worker")).to.equal(undefined);
      expect(i.calls()).to.include(MARK_UNHEALTHY);
    });

    it("marks the instance unhealthy when the service does not start", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      withSsmSecrets(i);
      i.set("start-exit", "1");
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain("while starting faas-worker.service");
      expect(i.calls()).to.include(MARK_UNHEALTHY);
    });

    it("lean profile: reads the worker's secrets from the S3 object and ships its logs to S3, without SSM", () => {
      const i = make(renderBootEnv("worker", workerSettings("s3", "s3")));
      i.set(
        "s3-object",
        `FAAS_WORKER_SECRET=${SECRETS.worker}\nFAAS_ENV_KEY=${SECRETS.env}\nFAAS_REDIS_AUTH_TOKEN=${SECRETS.redis}\n`,
      );
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      expect(i.env("worker")).to.contain(
        `FAAS_REDIS_URL=rediss://:${SECRETS.redis}@${common.redis_endpoint}\n`,
      );
      expect(i.env("worker")).to.contain(`FAAS_WORKER_SECRET=${SECRETS.worker}\n`);
      expect(i.calls()).to.include(
        "aws s3 cp --region us-east-1 s3://faas-functions-000000000000-us-east-1/secrets/worker.env -",
      );
      expect(i.calls().some((c) => c.startsWith("aws ssm"))).to.equal(false);
      expect(i.calls().filter((c) => c.startsWith("systemctl"))).to.deep.equal([
        "systemctl enable --now faas-log-upload.timer",
        "systemctl start faas-worker.service",
        "systemctl enable --now faas-watchdog.timer",
      ]);
    });

    it("lean profile: fails closed when the secrets object lacks a secret", () => {
      const i = make(renderBootEnv("worker", workerSettings("s3", "s3")));
      i.set("s3-object", `FAAS_WORKER_SECRET=${SECRETS.worker}\nFAAS_ENV_KEY=${SECRETS.env}\n`);
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain("the secrets object has no FAAS_REDIS_AUTH_TOKEN");
      expect(i.env("worker")).to.equal(undefined);
    });
  });

  describe("faas-boot: TLS on the public API (tls_mode)", function () {
    let certDir = "";
    let cert = "";
    let key = "";
    let fingerprint = "";
    let otherKey = "";
    before(async () => {
      certDir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-boot-tls-"));
      const made = await selfSignedCertificate(fs.mkdtempSync(path.join(certDir, "a-")), {
        allowNoNames: true,
      });
      [cert, key, fingerprint] = [
        fs.readFileSync(made.certFile, "utf8"),
        fs.readFileSync(made.keyFile, "utf8"),
        made.fingerprint256,
      ];
      const other = await selfSignedCertificate(fs.mkdtempSync(path.join(certDir, "b-")), {
        ips: ["127.0.0.1"],
      });
      otherKey = fs.readFileSync(other.keyFile, "utf8");
    });
    after(() => fs.rmSync(certDir, { recursive: true, force: true }));
    const selfSigned = (pinned = fingerprint) => ({
      ...controllerSettings,
      tls_mode: "self-signed",
      tls_cert_param: "/faas/tls-cert",
      tls_key_param: "/faas/tls-key",
      tls_fingerprint: pinned,
    });
    const withCertificate = (i: Instance, certificate = cert, privateKey = key) => {
      withSsmSecrets(i);
      i.ssm("/faas/tls-cert", certificate.trimEnd());
      i.ssm("/faas/tls-key", privateKey.trimEnd());
    };

    it("self-signed: writes the certificate and key from SSM (mode 600, the service user's) and names them for the controller", () => {
      const i = make(renderBootEnv("controller", selfSigned()));
      withCertificate(i);
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      const tls = path.join(i.etc, "tls");
      expect(fs.readFileSync(path.join(tls, "cert.pem"), "utf8")).to.equal(cert);
      expect(fs.readFileSync(path.join(tls, "key.pem"), "utf8")).to.equal(key);
      for (const f of ["cert.pem", "key.pem"]) {
        const stat = fs.statSync(path.join(tls, f));
        expect(stat.mode & 0o777, f).to.equal(0o600);
        expect(stat.uid, f).to.equal(os.userInfo().uid);
      }
      expect(fs.statSync(tls).mode & 0o777).to.equal(0o700);
      const env = i.env("controller")!;
      expect(env).to.contain(`FAAS_TLS_CERT_FILE=${tls}/cert.pem\n`);
      expect(env).to.contain(`FAAS_TLS_KEY_FILE=${tls}/key.pem\n`);
      expect(env).to.contain("FAAS_HOST=0.0.0.0\n");
      expect(env, "the key is in its file only").to.not.contain("PRIVATE KEY");
      expect(env).to.not.match(/FAAS_BOOT_TLS|FAAS_SSM_TLS/);
      expect(i.calls()).to.include(
        "aws ssm get-parameter --region us-east-1 --with-decryption --name /faas/tls-key --query Parameter.Value --output text",
      );
    });

    it("self-signed: fails closed without the certificate, with an empty one, a foreign one or a mismatched key", () => {
      const cases: [string, (i: Instance) => void, string, string][] = [
        [
          "missing",
          (i) => fs.rmSync(path.join(i.fake, "ssm", "_faas_tls-cert")),
          "while reading /faas/tls-cert from SSM",
          "",
        ],
        [
          "empty",
          (i) => i.ssm("/faas/tls-cert", ""),
          "while reading /faas/tls-cert from SSM",
          "the API's certificate is empty",
        ],
        [
          "not the pinned one",
          (i) => i.set("pinned", "AB:".repeat(31) + "AB"),
          "while checking the API's certificate",
          `has SHA-256 ${fingerprint}, not the AB:AB`,
        ],
        [
          "another key",
          (i) => i.ssm("/faas/tls-key", otherKey.trimEnd()),
          "while checking the API's certificate",
          "/faas/tls-key is not the private key of the certificate in /faas/tls-cert",
        ],
      ];
      for (const [what, breakIt, step, message] of cases) {
        const probe = make("");
        withCertificate(probe);
        breakIt(probe);
        const pinned = fs.existsSync(path.join(probe.fake, "pinned"))
          ? fs.readFileSync(path.join(probe.fake, "pinned"), "utf8")
          : fingerprint;
        fs.writeFileSync(path.join(probe.etc, "boot.env"), renderBootEnv("controller", selfSigned(pinned)));
        const r = probe.run("faas-boot.sh");
        expect(r.status, what).to.not.equal(0);
        expect(r.stderr, what).to.contain(step);
        expect(r.stderr, what).to.contain(message);
        expect(probe.env("controller"), `${what}: no environment file`).to.equal(undefined);
        expect(fs.existsSync(path.join(probe.etc, "tls", "key.pem")), `${what}: no key written`).to.equal(
          false,
        );
        expect(
          probe.calls().filter((c) => c.startsWith("systemctl start")),
          what,
        ).to.deep.equal([]);
        expect(probe.calls(), what).to.include(MARK_UNHEALTHY);
      }
    });

    it("off: no certificate read, plain HTTP", () => {
      const i = make(renderBootEnv("controller", controllerSettings));
      withSsmSecrets(i);
      expect(i.run("faas-boot.sh").status).to.equal(0);
      expect(i.calls().some((c) => c.includes("tls-"))).to.equal(false);
      expect(i.env("controller")).to.not.contain("FAAS_TLS_");
      expect(fs.existsSync(path.join(i.etc, "tls"))).to.equal(false);
    });

    it("acme: restores Caddy's storage, writes its Caddyfile, starts it after the controller, which listens on loopback", () => {
      const i = make(renderBootEnv("controller", acmeSettings));
      withSsmSecrets(i);
      const r = i.run("faas-boot.sh");
      expect(r.status, r.stderr).to.equal(0);
      expect(fs.readFileSync(path.join(i.caddyEtc, "Caddyfile"), "utf8")).to.equal(
        [
          "# Written by faas-boot from user data (tls_mode = acme): Caddy gets and renews the certificate",
          "# of this name and proxies HTTPS to the controller's loopback port.",
          "{",
          "\temail ops@example.com",
          "\tacme_ca https://acme-v02.api.letsencrypt.org/directory",
          `\tstorage file_system ${i.caddyData}`,
          "}",
          "",
          "api.example.com {",
          "\treverse_proxy 127.0.0.1:8080",
          "}",
          "",
        ].join("\n"),
      );
      const env = i.env("controller")!;
      expect(env).to.contain("FAAS_HOST=127.0.0.1\n");
      expect(env).to.contain("FAAS_PRIVATE_HOST=0.0.0.0\n");
      expect(env).to.contain("FAAS_PORT=8080\n");
      expect(env).to.not.contain("FAAS_TLS_");
      expect(i.calls()).to.include(
        `aws s3 sync --region us-east-1 --only-show-errors --exclude locks/* s3://faas-functions-000000000000-us-east-1/tls/caddy/ ${i.caddyData}/`,
      );
      expect(fs.statSync(i.caddyData).mode & 0o777).to.equal(0o700);
      expect(i.calls().filter((c) => c.startsWith("systemctl"))).to.deep.equal([
        "systemctl start faas-controller.service",
        "systemctl start caddy.service",
        "systemctl enable --now faas-caddy-storage.timer",
        "systemctl enable --now faas-watchdog.timer",
      ]);
    });

    it("acme: refuses a domain, address or CA that could break out of the Caddyfile, and a failed restore", () => {
      // Values a shell would run when boot.env is sourced (spaces, ';', '$') never reach here: Terraform's
      // validation refuses them (plan.test.ts). These are what a plain assignment would carry through.
      for (const [setting, value] of [
        ["tls_domain", "api.example.com{"],
        ["tls_domain", "api.example.com}"],
        ["tls_domain", "API.example.com"],
        ["tls_domain", "*.example.com"],
        ["tls_domain", ""],
        ["acme_email", "ops@example.com}"],
        ["acme_ca", "http://acme.invalid/directory"],
        ["acme_ca", "https://acme.invalid/dir}"],
      ] as const) {
        const i = make(renderBootEnv("controller", { ...acmeSettings, [setting]: value }));
        withSsmSecrets(i);
        const r = i.run("faas-boot.sh");
        expect(r.status, `${setting}=${value}`).to.not.equal(0);
        expect(r.stderr, `${setting}=${value}`).to.contain("while checking the ACME settings");
        expect(fs.existsSync(path.join(i.caddyEtc, "Caddyfile")), `${setting}=${value}`).to.equal(false);
        expect(i.env("controller"), `${setting}=${value}`).to.equal(undefined);
      }
      const i = make(renderBootEnv("controller", acmeSettings));
      withSsmSecrets(i);
      i.set("sync-exit", "1");
      const r = i.run("faas-boot.sh");
      expect(r.status).to.not.equal(0);
      expect(r.stderr).to.contain(
        "while restoring Caddy's storage from s3://faas-functions-000000000000-us-east-1/tls/caddy",
      );
      expect(
        i.calls().filter((c) => c.startsWith("aws s3 sync")),
        "retried",
      ).to.have.length(2);
      expect(i.calls()).to.not.include("systemctl start caddy.service");
      expect(i.calls()).to.include(MARK_UNHEALTHY);
    });

    it("acme: faas-caddy-storage saves Caddy's folder to the bucket (SSE-KMS, no locks), and nothing before it exists", () => {
      const i = make(renderBootEnv("controller", acmeSettings));
      expect(i.run("faas-caddy-storage.sh", "save").status).to.equal(0);
      expect(i.calls(), "no folder yet: nothing to save").to.deep.equal([]);
      fs.mkdirSync(i.caddyData);
      const r = i.run("faas-caddy-storage.sh", "save");
      expect(r.status, r.stderr).to.equal(0);
      expect(i.calls()).to.deep.equal([
        `aws s3 sync --region us-east-1 --only-show-errors --exclude locks/* --sse aws:kms ${i.caddyData}/ s3://faas-functions-000000000000-us-east-1/tls/caddy/`,
      ]);
      expect(i.run("faas-caddy-storage.sh", "upload").status).to.equal(2);
    });
  });

  describe("faas-watchdog", function () {
    it("takes a controller whose /healthz stops answering out of service after 4 failed probes, once", () => {
      const i = make(renderBootEnv("controller", controllerSettings));
      i.set("healthz-exit", "28");
      for (let probe = 1; probe <= 3; probe++) {
        const r = i.run("faas-watchdog.sh");
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stderr).to.contain(`probe ${probe} of 4 failed: GET /healthz did not answer`);
      }
      expect(i.calls().some((c) => c.includes("set-instance-health"))).to.equal(false);
      i.run("faas-watchdog.sh");
      expect(i.calls().filter((c) => c.includes("set-instance-health"))).to.deep.equal([MARK_UNHEALTHY]);
      i.run("faas-watchdog.sh");
      expect(
        i.calls().filter((c) => c.includes("set-instance-health")),
        "only once",
      ).to.have.length(1);
      // The private listener: plain HTTP whatever the public API's TLS.
      expect(i.calls()).to.include("curl -fsS -m 5 -o /dev/null http://127.0.0.1:8081/healthz");
    });

    it("forgets failures after a good probe", () => {
      const i = make(renderBootEnv("controller", controllerSettings));
      i.set("healthz-exit", "7");
      for (let n = 0; n < 3; n++) i.run("faas-watchdog.sh");
      i.set("healthz-exit", "0");
      i.run("faas-watchdog.sh");
      i.set("healthz-exit", "7");
      for (let n = 0; n < 3; n++) i.run("faas-watchdog.sh");
      expect(i.calls().some((c) => c.includes("set-instance-health"))).to.equal(false);
    });

    it("takes a crash-looping worker out of service (its unit restarts between probes)", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      i.set("asg-exit", "255");
      for (let probe = 0; probe <= 4; probe++) {
        i.set("nrestarts", String(probe * 7));
        i.run("faas-watchdog.sh");
      }
      expect(i.calls()).to.include("systemctl poweroff --no-block");
      expect(i.calls()).to.include("systemctl show -p NRestarts --value faas-worker.service");
    });

    it("acme: takes the controller out of service when Caddy, its only way in, stays down", () => {
      const i = make(renderBootEnv("controller", acmeSettings));
      i.set("active-exit", "3");
      for (let n = 0; n < 4; n++) i.run("faas-watchdog.sh");
      expect(i.calls()).to.include("systemctl is-active --quiet caddy.service");
      expect(i.calls().filter((c) => c.includes("set-instance-health"))).to.deep.equal([MARK_UNHEALTHY]);
    });

    it("leaves a worker alone while its unit is active and steady", () => {
      const i = make(renderBootEnv("worker", workerSettings("ssm", "cloudwatch")));
      i.set("nrestarts", "3");
      for (let n = 0; n < 6; n++) expect(i.run("faas-watchdog.sh").status).to.equal(0);
      expect(i.calls().some((c) => c.includes("set-instance-health") || c.includes("poweroff"))).to.equal(
        false,
      );
    });
  });

  it('has no `echo "X=$(...)"` that would hide a failed read from set -e', () => {
    for (const f of [
      "faas-boot.sh",
      "faas-watchdog.sh",
      "faas-log-upload.sh",
      "faas-health.sh",
      "faas-caddy-storage.sh",
    ]) {
      const code = fs
        .readFileSync(path.join(files, f), "utf8")
        .split("\n")
        .filter((line) => !line.trim().startsWith("#"));
      expect(code.join("\n"), f).to.not.match(/echo "[^"]*\$\(/);
    }
  });
});
