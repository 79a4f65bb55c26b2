/**
 * deploy/packer and the scripts around it: packer validate and fmt -check (offline, HCL2), shell
 * syntax of every provisioning and deploy script, and the rules the images depend on.
 */
import { execFile } from "node:child_process";
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { hasCommand } from "./moto-server";
import { repoRoot } from "./terraform-cli";

const run = promisify(execFile);
const packerDir = path.join(repoRoot, "deploy", "packer");
const template = fs.readFileSync(path.join(packerDir, "faas.pkr.hcl"), "utf8");

describe("deploy/packer", function () {
  describe("with packer", function () {
    before(function () {
      if (!hasCommand("packer")) this.skip(); // packer is not installed here
    });

    it("validates (packer validate)", async () => {
      const { stdout } = await run("packer", ["validate", packerDir], { cwd: repoRoot });
      expect(stdout).to.not.match(/error/i);
    });

    it("is formatted (packer fmt -check)", async () => {
      await run("packer", ["fmt", "-check", packerDir], { cwd: repoRoot });
    });
  });

  it("has an amazon-ebs and a docker source for each role, sharing one provisioning list", () => {
    for (const source of [
      'amazon-ebs" "controller',
      'amazon-ebs" "worker',
      'docker" "controller',
      'docker" "worker',
    ]) {
      expect(template).to.contain(`source "${source}"`);
    }
    expect(template.match(/provisioner "shell"/g)).to.have.length(2);
    expect(template).to.match(/pull\s+=\s+false/);
  });

  it("cleans cloud-init before imaging in the AMI builds only", () => {
    const cleanup =
      /provisioner "shell" \{\s*only\s*=\s*\["amazon-ebs\.controller", "amazon-ebs\.worker"\]\s*script\s*=\s*"[^"]*clean-for-imaging\.sh"/;
    expect(template).to.match(cleanup);
    const script = fs.readFileSync(path.join(packerDir, "scripts", "clean-for-imaging.sh"), "utf8");
    expect(script).to.contain("cloud-init clean --logs --machine-id");
  });

  it("supervises the services with systemd units that restart them", () => {
    for (const role of ["controller", "worker"]) {
      const unit = fs.readFileSync(path.join(packerDir, "files", `faas-${role}.service`), "utf8");
      expect(unit).to.contain("Restart=always");
      expect(unit).to.contain(`ExecStart=/usr/bin/node dist/services/${role}/main.js`);
      expect(unit).to.contain(`EnvironmentFile=/etc/faas/${role}.env`);
    }
  });

  it("firewalls the sandbox uids before every worker start, and only there", () => {
    const unit = fs.readFileSync(path.join(packerDir, "files", "faas-worker.service"), "utf8");
    const pre = unit.indexOf("ExecStartPre=/usr/local/bin/faas-sandbox-firewall /etc/faas/worker.env");
    expect(pre, "ExecStartPre runs the firewall on the worker's env file").to.be.greaterThan(-1);
    expect(pre).to.be.lessThan(unit.indexOf("ExecStart=/usr/bin/node"));
    // "-" would let systemd start the worker even when the firewall failed.
    expect(unit).to.not.match(/ExecStartPre=-/);
    const sandbox = fs.readFileSync(path.join(packerDir, "scripts", "install-sandbox.sh"), "utf8");
    expect(sandbox).to.contain(
      "install -m 0755 /tmp/faas-files/faas-sandbox-firewall.sh /usr/local/bin/faas-sandbox-firewall",
    );
    expect(sandbox).to.match(/dnf install -y bubblewrap util-linux iptables-nft/);
    expect(sandbox).to.contain(
      'grubby --update-kernel=ALL --args="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller"',
    );
    expect(template).to.contain('"${path.root}/scripts/install-sandbox.sh"');
    // The first-boot-only rule for `nobody` is gone: the unit sets the rules on every start.
    const boot = fs.readFileSync(path.join(packerDir, "files", "faas-boot.sh"), "utf8");
    expect(boot).to.not.match(/iptables|nobody/);
  });

  it("builds the TLS Redis URL at boot from the AUTH token in SSM, and passes the env key", () => {
    const boot = fs.readFileSync(path.join(packerDir, "files", "faas-boot.sh"), "utf8");
    expect(boot).to.contain('redis_token="$(param "$FAAS_SSM_REDIS_AUTH_TOKEN")"');
    expect(boot).to.contain('echo "FAAS_REDIS_URL=rediss://:$redis_token@$FAAS_REDIS_ENDPOINT"');
    expect(boot).to.contain('env_key="$(param "$FAAS_SSM_ENV_KEY")"');
    expect(boot).to.contain('echo "FAAS_ENV_KEY=$env_key"');
  });

  it("has shell scripts that parse (bash -n)", async () => {
    const scripts = [
      ...fs.readdirSync(path.join(packerDir, "scripts")).map((f) => path.join(packerDir, "scripts", f)),
      path.join(packerDir, "files", "faas-boot.sh"),
      path.join(packerDir, "files", "faas-sandbox-firewall.sh"),
      ...fs
        .readdirSync(path.join(repoRoot, "deploy", "scripts"))
        .map((f) => path.join(repoRoot, "deploy", "scripts", f)),
    ].filter((f) => f.endsWith(".sh"));
    expect(scripts.length).to.be.greaterThan(10);
    for (const script of scripts) await run("bash", ["-n", script]);
  });

  it("bakes no secret into an image: the boot script reads them from SSM", () => {
    const boot = fs.readFileSync(path.join(packerDir, "files", "faas-boot.sh"), "utf8");
    expect(boot).to.contain("aws ssm get-parameter");
    expect(template).to.not.match(/API_KEY|WORKER_SECRET/);
  });
});
