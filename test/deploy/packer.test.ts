/**
 * deploy/packer and the scripts around it: packer validate and fmt -check (offline, HCL2), shell
 * syntax of every provisioning and deploy script, and the rules the images depend on.
 */
import { execFile } from "node:child_process";
import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import os from "node:os";
import { amiIdsFromManifest, ManifestError } from "../../deploy/bake/manifest";
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
      await run("packer", ["fmt", "-check", path.join(packerDir, "required-plugins")], { cwd: repoRoot });
    });

    it("keeps required_plugins where Packer 1.6.6 does not read it, and 1.6.6 would reject it", async function () {
      const { stdout } = await run("packer", ["version"]);
      if (!stdout.startsWith("Packer v1.6.")) this.skip(); // only Debian's 1.6.6 rejects it
      const err = await run("packer", ["validate", path.join(packerDir, "required-plugins")]).then(
        () => undefined,
        (e: unknown) => e as { stdout: string; stderr: string },
      );
      expect(`${err?.stdout ?? ""}${err?.stderr ?? ""}`).to.contain("Unsupported block type");
    });
  });

  it("requires the amazon and docker plugins for Packer >= 1.7 in a file of its own", () => {
    const plugins = fs.readFileSync(path.join(packerDir, "required-plugins", "plugins.pkr.hcl"), "utf8");
    expect(plugins).to.match(
      /required_plugins \{\s*amazon = \{\s*source\s*=\s*"github\.com\/hashicorp\/amazon"/,
    );
    expect(plugins).to.match(/docker = \{\s*source\s*=\s*"github\.com\/hashicorp\/docker"/);
    expect(template).to.not.match(/^\s*required_plugins\s*\{/m);
    expect(fs.readdirSync(packerDir).filter((f) => f.endsWith(".pkr.hcl"))).to.deep.equal(["faas.pkr.hcl"]);
  });

  describe("packer-build.sh, bake.sh and bake-clean.sh with fake commands", function () {
    let dir = "";
    const stage = path.join(repoRoot, ".faas", "packer");
    let stageExisted = false;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-bake-test-"));
      stageExisted = fs.existsSync(stage);
    });
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      if (!stageExisted) fs.rmSync(stage, { recursive: true, force: true });
    });
    /** A fake command that records its arguments and prints what the test says. */
    const fake = (name: string, body: string) => {
      fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
      fs.writeFileSync(
        path.join(dir, "bin", name),
        `#!/bin/bash\necho "${name} $*" >>"${dir}/calls"\n${body}\n`,
        {
          mode: 0o755,
        },
      );
    };
    const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
    const script = (name: string, env: Record<string, string> = {}) =>
      run("bash", [path.join(repoRoot, "deploy", "scripts", name)], {
        env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, HOME: dir, ...env },
      }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (err: unknown) => {
          const e = err as { code: number; stdout: string; stderr: string };
          return { code: e.code, out: e.stdout + e.stderr };
        },
      );

    it("runs packer init and builds beside plugins.pkr.hcl on Packer >= 1.7", async () => {
      fs.rmSync(path.join(dir, "calls"), { force: true });
      fake("packer", 'if [[ "$1" == version ]]; then echo "Packer v1.11.2"; fi');
      const r = await script("packer-build.sh");
      expect(r.code, r.out).to.equal(0);
      expect(calls()).to.deep.equal(["packer version", `packer init ${stage}`, `packer build ${stage}`]);
      expect(fs.readlinkSync(path.join(stage, "plugins.pkr.hcl"))).to.equal(
        path.join(packerDir, "required-plugins", "plugins.pkr.hcl"),
      );
      expect(fs.readlinkSync(path.join(stage, "faas.pkr.hcl"))).to.equal(
        path.join(packerDir, "faas.pkr.hcl"),
      );
    });

    it("builds the template folder itself, without init, on Packer 1.6.6", async () => {
      fs.rmSync(path.join(dir, "calls"), { force: true });
      fake("packer", 'if [[ "$1" == version ]]; then echo "Packer v1.6.6"; fi');
      const r = await script("packer-build.sh");
      expect(r.code, r.out).to.equal(0);
      expect(calls()).to.deep.equal(["packer version", `packer build ${packerDir}`]);
    });

    it("make bake for AWS fails loudly without credentials (sts get-caller-identity), before building anything", async () => {
      fs.rmSync(path.join(dir, "calls"), { force: true });
      fake(
        "aws",
        'echo "Unable to locate credentials. You can configure credentials by running aws configure." >&2; exit 253',
      );
      const r = await script("bake.sh", { TARGET: "aws" });
      expect(r.code).to.equal(1);
      expect(r.out).to.contain(
        "bake: no usable AWS credentials (aws sts get-caller-identity: Unable to locate credentials.",
      );
      expect(r.out).to.contain("aws sso login");
      expect(calls()).to.deep.equal(["aws sts get-caller-identity --query Arn --output text"]);
      const local = await script("bake.sh", { TARGET: "aws", AWS_ENDPOINT_URL: "http://127.0.0.1:4566" });
      expect(local.code).to.equal(1);
      expect(local.out).to.contain("points at a local cloud, not AWS");
    });

    it("bake-clean keeps the newest per role and the deployed ones, and removes the rest with their snapshots", async () => {
      fs.rmSync(path.join(dir, "calls"), { force: true });
      const images = [
        ["controller", "2026-03-01T00:00:00.000Z", "ami-0000000000000c003", "snap-c3"],
        ["controller", "2026-01-01T00:00:00.000Z", "ami-0000000000000c001", "snap-c1"],
        ["controller", "2026-02-01T00:00:00.000Z", "ami-0000000000000c002", "snap-c2"],
        ["worker", "2026-03-01T00:00:00.000Z", "ami-0000000000000f003", "snap-w3a,snap-w3b"],
        ["worker", "2026-01-01T00:00:00.000Z", "ami-0000000000000f001", "snap-w1"],
      ]
        .map((row) => row.join("\t"))
        .join("\n");
      fs.writeFileSync(path.join(dir, "images.txt"), images + "\n");
      fake("aws", `if [[ "$2" == describe-images ]]; then cat "${dir}/images.txt"; fi`);
      fs.writeFileSync(path.join(dir, "amis.json"), '{"controller_ami_id": "ami-0000000000000c001"}');
      const r = await script("bake-clean.sh", {
        TARGET: "local",
        KEEP: "1",
        AMIS_FILE: path.join(dir, "amis.json"),
      });
      expect(r.code, r.out).to.equal(0);
      expect(calls().filter((c) => !c.includes("describe-images"))).to.deep.equal([
        "aws ec2 deregister-image --image-id ami-0000000000000c002",
        "aws ec2 delete-snapshot --snapshot-id snap-c2",
        "aws ec2 deregister-image --image-id ami-0000000000000f001",
        "aws ec2 delete-snapshot --snapshot-id snap-w1",
      ]);
      expect(r.out).to.contain("bake-clean: kept 3, removed 2");
    });
  });

  it("takes the AMI ids of the last Packer run, in the deployed region, from the manifest", () => {
    const build = (name: string, run: string, artifact: string) => ({
      name,
      builder_type: "amazon-ebs",
      artifact_id: artifact,
      packer_run_uuid: run,
    });
    const manifest = JSON.stringify({
      builds: [
        build("controller", "old", "us-east-1:ami-00000000000000c01"),
        build("worker", "old", "us-east-1:ami-00000000000000f01"),
        { ...build("controller", "new", "faas-controller:latest"), builder_type: "docker" },
        build("controller", "new", "us-east-1:ami-00000000000000c02,ap-northeast-2:ami-00000000000000c12"),
        build("worker", "new", "us-east-1:ami-00000000000000f02"),
      ],
      last_run_uuid: "new",
    });
    expect(amiIdsFromManifest(manifest, "us-east-1")).to.deep.equal({
      controller_ami_id: "ami-00000000000000c02",
      worker_ami_id: "ami-00000000000000f02",
    });
    expect(() => amiIdsFromManifest(manifest, "ap-northeast-2")).to.throw(
      ManifestError,
      /worker AMI .* is not in ap-northeast-2/,
    );
    const onlyDocker = JSON.stringify({ builds: [], last_run_uuid: "x" });
    expect(() => amiIdsFromManifest(onlyDocker, "us-east-1")).to.throw(
      ManifestError,
      /built no controller AMI/,
    );
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
    expect(boot).to.contain('redis_token="$(retry ssm_value "$FAAS_SSM_REDIS_AUTH_TOKEN")"');
    expect(boot).to.contain('echo "FAAS_REDIS_URL=rediss://:$redis_token@$FAAS_REDIS_ENDPOINT"');
    expect(boot).to.contain('env_key="$(retry ssm_value "$FAAS_SSM_ENV_KEY")"');
    expect(boot).to.contain('echo "FAAS_ENV_KEY=$env_key"');
  });

  it("bakes Caddy into the controller AMI only: the pinned release, its SHA-512 checked, started by faas-boot alone", () => {
    const install = fs.readFileSync(path.join(packerDir, "scripts", "install-caddy.sh"), "utf8");
    expect(template).to.match(/variable "caddy_version" \{[^}]*default\s*=\s*"\d+\.\d+\.\d+"/);
    expect(template).to.contain('"FAAS_CADDY_VERSION=${var.caddy_version}"');
    expect(template).to.contain('"FAAS_CADDY_SHA512=${var.caddy_sha512}"');
    expect(template.indexOf('"${path.root}/scripts/install-caddy.sh"')).to.be.greaterThan(
      template.indexOf('"${path.root}/scripts/install-app.sh"'),
    );
    expect(install).to.contain('release="https://github.com/caddyserver/caddy/releases/download/v$version"');
    expect(install).to.contain('tarball="caddy_${version}_linux_$arch.tar.gz"');
    expect(install).to.contain('echo "$expected  $work/$tarball" | sha512sum -c -');
    expect(install).to.contain(
      'if [ "$FAAS_ROLE" != controller ] || [ "${PACKER_BUILDER_TYPE:-}" = docker ]',
    );
    expect(install, "not enabled at bake time").to.not.match(/systemctl (enable|start)/);
    const unit = fs.readFileSync(path.join(packerDir, "files", "caddy.service"), "utf8");
    expect(unit).to.contain("ExecStart=/usr/bin/caddy run --environ --config /etc/caddy/Caddyfile");
    expect(unit).to.contain("User=caddy");
    expect(unit).to.contain("AmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE");
    expect(unit).to.contain("ExecStopPost=+/bin/bash /opt/faas/bin/faas-caddy-storage.sh save");
    const timer = fs.readFileSync(path.join(packerDir, "files", "faas-caddy-storage.timer"), "utf8");
    expect(timer).to.contain("OnUnitActiveSec=3600");
  });

  it("has shell scripts that parse (bash -n)", async () => {
    const scripts = [
      ...fs.readdirSync(path.join(packerDir, "scripts")).map((f) => path.join(packerDir, "scripts", f)),
      path.join(packerDir, "files", "faas-boot.sh"),
      path.join(packerDir, "files", "faas-sandbox-firewall.sh"),
      path.join(packerDir, "files", "faas-health.sh"),
      path.join(packerDir, "files", "faas-watchdog.sh"),
      path.join(packerDir, "files", "faas-log-upload.sh"),
      path.join(packerDir, "files", "faas-caddy-storage.sh"),
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
