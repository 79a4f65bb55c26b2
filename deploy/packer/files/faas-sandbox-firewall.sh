#!/bin/bash
# Workers only, run by faas-worker.service as ExecStartPre on every start (so after every reboot):
# rejects all outgoing traffic of the function sandboxes' uids, IPv4 and IPv6 alike. That covers the
# instance metadata service (169.254.169.254, fd00:ec2::254: the instance role's credentials), Redis,
# the VPC endpoints, the controller and everything else. Each sandbox already runs in a network
# namespace of its own with no route out; this is the second wall, in the host's own tables.
#
# The range is FAAS_SANDBOX_UID_BASE .. FAAS_SANDBOX_UID_BASE + FAAS_SANDBOX_UID_COUNT - 1, read from
# the worker's environment file (defaults 100000 and 1000, as the worker's). Only those two lines are
# parsed: the file also holds secrets and is never sourced.
#
# Idempotent: each rule is checked (-C) before it is inserted, so a restart adds nothing. The rule goes
# first in OUTPUT (-I OUTPUT 1), not last, so no ACCEPT rule added earlier can shadow it.
# Fails closed: if iptables or ip6tables is missing, the file or the range is bad, or a rule cannot be
# set, it exits non-zero and systemd does not start the worker (it retries after RestartSec).
#   usage: faas-sandbox-firewall [env-file]   (default /etc/faas/worker.env)
# Uses only bash builtins besides iptables and ip6tables, so a test can run it with a PATH of fakes.
set -euo pipefail

env_file="${1:-/etc/faas/worker.env}"
base=100000
count=1000

fail() {
  echo "faas-sandbox-firewall: $*; the worker is not started" >&2
  exit 1
}

[[ -r "$env_file" ]] || fail "cannot read $env_file"
while IFS= read -r line || [[ -n "$line" ]]; do
  case "$line" in
    FAAS_SANDBOX_UID_BASE=*) base="${line#*=}" ;;
    FAAS_SANDBOX_UID_COUNT=*) count="${line#*=}" ;;
  esac
done <"$env_file"

[[ "$base" =~ ^[0-9]{1,10}$ ]] || fail "FAAS_SANDBOX_UID_BASE is not a number: '$base'"
[[ "$count" =~ ^[0-9]{1,7}$ ]] || fail "FAAS_SANDBOX_UID_COUNT is not a number: '$count'"
((base >= 1000)) || fail "FAAS_SANDBOX_UID_BASE $base is below 1000 (system users and root)"
((count >= 1)) || fail "FAAS_SANDBOX_UID_COUNT must be at least 1"
last=$((base + count - 1))
((last <= 4294967294)) || fail "sandbox uids $base-$last run past the largest uid"
range="$base-$last"

for tool in iptables ip6tables; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
  rule=(OUTPUT -m owner --uid-owner "$range" -j REJECT)
  if ! "$tool" -w -C "${rule[@]}" 2>/dev/null; then
    "$tool" -w -I "${rule[0]}" 1 "${rule[@]:1}" || fail "$tool could not add: -I ${rule[*]}"
    "$tool" -w -C "${rule[@]}" || fail "$tool does not show the rule it was given: ${rule[*]}"
  fi
done
echo "faas-sandbox-firewall: all egress rejected for sandbox uids $range (iptables, ip6tables)"
