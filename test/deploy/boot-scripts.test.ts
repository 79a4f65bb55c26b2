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
  set(name: string, content: string): void;
  ssm(name: string, value: string): void;
  run(script: string): { status: number | null; stderr: string };
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
  for (const d of [fake, path.join(fake, "ssm"), bin, etc]) fs.mkdirSync(d, { recursive: true });
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
    set: (name, content) => fs.writeFileSync(path.join(fake, name), content),
    ssm: (name, value) => fs.writeFileSync(path.join(fake, "ssm", name.replace(/\//g, "_")), value + "\n"),
    run: (script) => {
      const r = spawnSync("bash", [path.join(files, script)], {
        encoding: "utf8",
        env: {
          PATH: `${bin}:/usr/bin:/bin`,
          FAKE: fake,
          FAAS_ETC: etc,
          FAAS_BIN: files,
          FAAS_RUN: path.join(dir, "run"),
          FAAS_BOOT_ATTEMPTS: "2",
          FAAS_BOOT_RETRY_DELAY_S: "0",
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
      expect(i.calls()).to.include("curl -fsS -m 5 -o /dev/null http://127.0.0.1:8080/healthz");
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
    for (const f of ["faas-boot.sh", "faas-watchdog.sh", "faas-log-upload.sh", "faas-health.sh"]) {
      const code = fs
        .readFileSync(path.join(files, f), "utf8")
        .split("\n")
        .filter((line) => !line.trim().startsWith("#"));
      expect(code.join("\n"), f).to.not.match(/echo "[^"]*\$\(/);
    }
  });
});
