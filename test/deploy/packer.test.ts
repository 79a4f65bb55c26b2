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

  it("installs the pinned Node.js 24 (.node-version) on x64 and arm64, as /usr/bin/node for the units", () => {
    const version = fs.readFileSync(path.join(repoRoot, ".node-version"), "utf8").trim();
    expect(version, "one exact version").to.match(/^\d+\.\d+\.\d+$/);
    expect(Number(version.split(".")[0])).to.be.at.least(24);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).to.equal(">=24");
    // The template reads the pin and uploads the installer that make uses; no version is written here.
    expect(template).to.contain(
      'node_version = trimspace(file("${abspath(path.root)}/../../.node-version"))',
    );
    expect(template).to.contain('"FAAS_NODE_VERSION=${local.node_version}"');
    expect(template).to.match(
      /provisioner "file" \{\s*source\s*=\s*"\$\{path\.root\}\/\.\.\/\.\.\/scripts\/install-node\.sh"\s*destination\s*=\s*"\/tmp\/faas-files\/install-node\.sh"/,
    );
    expect(template.indexOf('"${path.root}/scripts/install-node.sh"')).to.be.lessThan(
      template.indexOf('"${path.root}/scripts/install-app.sh"'),
    );
    const provision = fs.readFileSync(path.join(packerDir, "scripts", "install-node.sh"), "utf8");
    expect(provision).to.contain("sh /tmp/faas-files/install-node.sh");
    expect(provision).to.contain('ln -sfn "$node" /usr/bin/node');
    expect(provision, "no distribution package, no Node 20").to.not.match(/dnf install|node-?20|want=20/);
    // The installer: the registry's official build for the instance's architecture (the controller is
    // x86_64, the workers arm64 by default), into a folder the sandbox uids can read.
    const installer = fs.readFileSync(path.join(repoRoot, "scripts", "install-node.sh"), "utf8");
    expect(installer).to.contain("x86_64 | amd64) arch=x64");
    expect(installer).to.contain("aarch64 | arm64) arch=arm64");
    expect(installer).to.contain("pkg=node-linux-$arch");
    expect(installer).to.contain("system_dir=/usr/local/lib/faas/node-v$version");
    expect(template).to.contain('default = "arm64"');
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
