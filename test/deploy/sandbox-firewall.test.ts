/**
 * The workers' sandbox firewall (deploy/packer/files/faas-sandbox-firewall.sh), run for real against
 * fake iptables and ip6tables that record their arguments and keep their rules in a file. PATH holds
 * only the fakes, so this machine's own firewall is never touched.
 */
import { spawnSync } from "node:child_process";
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "./terraform-cli";

const script = path.join(repoRoot, "deploy", "packer", "files", "faas-sandbox-firewall.sh");

/**
 * A stand-in for iptables/ip6tables: appends "<tool> <args>" to $FAKE_DIR/calls; -C succeeds only for
 * a rule in $FAKE_DIR/<tool>.rules; -I and -A add one, or fail when FAKE_FAIL_INSERT is set.
 */
const FAKE = `#!/bin/bash
tool="\${0##*/}"
rules="$FAKE_DIR/$tool.rules"
printf '%s %s\\n' "$tool" "$*" >>"$FAKE_DIR/calls"
args=("$@")
if [[ "\${args[0]}" == -w ]]; then args=("\${args[@]:1}"); fi
case "\${args[0]}" in
  -C)
    want="\${args[*]:1}"
    [[ -f "$rules" ]] || exit 1
    while IFS= read -r line; do [[ "$line" == "$want" ]] && exit 0; done <"$rules"
    exit 1 ;;
  -I | -A)
    if [[ -n "\${FAKE_FAIL_INSERT:-}" ]]; then echo "$tool: fake refusal" >&2; exit 4; fi
    if [[ "\${args[0]}" == -I ]]; then rule="\${args[1]} \${args[*]:3}"; else rule="\${args[*]:1}"; fi
    printf '%s\\n' "$rule" >>"$rules" ;;
  *) exit 2 ;;
esac
`;

interface Run {
  status: number | null;
  stderr: string;
  calls: string[];
}

describe("worker sandbox firewall (faas-sandbox-firewall)", function () {
  let dir = "";
  let bin = "";
  let envFile = "";

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "faas-fw-"));
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    envFile = path.join(dir, "worker.env");
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const installFakes = (tools: string[] = ["iptables", "ip6tables"]) => {
    for (const tool of tools) fs.writeFileSync(path.join(bin, tool), FAKE, { mode: 0o755 });
  };
  const run = (extraEnv: Record<string, string> = {}, file = envFile): Run => {
    const out = spawnSync("/bin/bash", [script, file], {
      env: { PATH: bin, FAKE_DIR: dir, ...extraEnv },
      encoding: "utf8",
    });
    const callsFile = path.join(dir, "calls");
    const calls = fs.existsSync(callsFile) ? fs.readFileSync(callsFile, "utf8").trim().split("\n") : [];
    fs.rmSync(callsFile, { force: true });
    return { status: out.status, stderr: out.stderr, calls };
  };
  const rules = (tool: string) => {
    const file = path.join(dir, `${tool}.rules`);
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
  };
  const writeEnv = (lines: string[]) => fs.writeFileSync(envFile, lines.join("\n") + "\n", { mode: 0o600 });

  it("rejects all egress of exactly the configured uid range, IPv4 and IPv6, and adds nothing on a second run", () => {
    writeEnv([
      "FAAS_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/1/faas-tasks",
      "FAAS_SANDBOX_UID_BASE=200000",
      "FAAS_SANDBOX_UID_COUNT=50",
      // Secrets share the file: it must be parsed, never sourced (echo is a builtin: no PATH needed).
      `FAAS_ENV_KEY=$(echo sourced >${path.join(dir, "sourced")})`,
    ]);
    installFakes();
    const rule = "OUTPUT -m owner --uid-owner 200000-200049 -j REJECT";
    const first = run();
    expect(first.status, first.stderr).to.equal(0);
    expect(first.calls).to.deep.equal([
      `iptables -w -C ${rule}`,
      "iptables -w -I OUTPUT 1 -m owner --uid-owner 200000-200049 -j REJECT",
      `iptables -w -C ${rule}`,
      `ip6tables -w -C ${rule}`,
      "ip6tables -w -I OUTPUT 1 -m owner --uid-owner 200000-200049 -j REJECT",
      `ip6tables -w -C ${rule}`,
    ]);
    expect(rules("iptables")).to.deep.equal([rule]);
    expect(rules("ip6tables")).to.deep.equal([rule]);
    expect(fs.existsSync(path.join(dir, "sourced")), "the env file was sourced").to.equal(false);

    const second = run();
    expect(second.status, second.stderr).to.equal(0);
    expect(second.calls).to.deep.equal([`iptables -w -C ${rule}`, `ip6tables -w -C ${rule}`]);
    expect(rules("iptables")).to.deep.equal([rule]);
    expect(rules("ip6tables")).to.deep.equal([rule]);
  });

  it("uses the worker's defaults (uids 100000-100999) when the file does not set the range", () => {
    writeEnv(["FAAS_WORKER_SLOTS=2"]);
    installFakes();
    const out = run();
    expect(out.status, out.stderr).to.equal(0);
    expect(rules("iptables")).to.deep.equal(["OUTPUT -m owner --uid-owner 100000-100999 -j REJECT"]);
    expect(rules("ip6tables")).to.deep.equal(["OUTPUT -m owner --uid-owner 100000-100999 -j REJECT"]);
  });

  it("fails closed when iptables is not installed", () => {
    writeEnv(["FAAS_SANDBOX_UID_BASE=100000", "FAAS_SANDBOX_UID_COUNT=1000"]);
    const out = run(); // PATH holds nothing at all
    expect(out.status).to.not.equal(0);
    expect(out.stderr).to.contain("iptables is not installed");
    expect(out.stderr).to.contain("the worker is not started");
  });

  it("fails closed when only ip6tables is missing, after setting the IPv4 rule", () => {
    writeEnv(["FAAS_SANDBOX_UID_BASE=100000", "FAAS_SANDBOX_UID_COUNT=1000"]);
    installFakes(["iptables"]);
    const out = run();
    expect(out.status).to.not.equal(0);
    expect(out.stderr).to.contain("ip6tables is not installed");
    expect(rules("iptables")).to.deep.equal(["OUTPUT -m owner --uid-owner 100000-100999 -j REJECT"]);
  });

  it("fails closed when a rule cannot be set", () => {
    writeEnv(["FAAS_SANDBOX_UID_BASE=100000", "FAAS_SANDBOX_UID_COUNT=1000"]);
    installFakes();
    const out = run({ FAKE_FAIL_INSERT: "1" });
    expect(out.status).to.not.equal(0);
    expect(out.stderr).to.contain("iptables could not add");
    expect(rules("iptables")).to.deep.equal([]);
    expect(
      out.calls.some((c) => c.startsWith("ip6tables")),
      "stops at the first failure",
    ).to.equal(false);
  });

  it("fails closed on a missing env file or a range that is not one, before touching iptables", () => {
    installFakes();
    const missing = run({}, path.join(dir, "absent.env"));
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.contain("cannot read");
    for (const [lines, message] of [
      [["FAAS_SANDBOX_UID_BASE=abc"], "FAAS_SANDBOX_UID_BASE is not a number"],
      [["FAAS_SANDBOX_UID_BASE=0"], "below 1000"],
      [["FAAS_SANDBOX_UID_COUNT=0"], "at least 1"],
      [["FAAS_SANDBOX_UID_BASE=4294967000", "FAAS_SANDBOX_UID_COUNT=1000"], "past the largest uid"],
    ] as const) {
      writeEnv([...lines]);
      const out = run();
      expect(out.status, message).to.not.equal(0);
      expect(out.stderr).to.contain(message);
      expect(out.calls, message).to.deep.equal([]);
    }
  });
});
