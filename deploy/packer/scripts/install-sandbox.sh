#!/bin/sh
# Workers only: what the function sandbox needs from the host. Functions run under bubblewrap as
# per-sandbox uids (FAAS_SANDBOX_UID_BASE ..), each in its own network namespace, capped by cgroup v1
# controllers (memory, cpu, pids, freezer).
#   - bubblewrap (bwrap) builds the namespaces; util-linux brings setpriv; iptables-nft brings the
#     iptables and ip6tables that faas-sandbox-firewall (the worker unit's ExecStartPre) uses to reject
#     all egress of the sandbox uids.
#   - The kernel boots the cgroup v1 hierarchy: the worker supports only v1 for now, and with
#     FAAS_SANDBOX_CGROUPS=required (set on AWS) it refuses to start without writable memory, cpu,
#     pids and freezer controllers. Amazon Linux 2023 boots cgroup v2 by default; see
#     deploy/README.md for why and for what this costs.
# The local images have no package mirror and no kernel of their own: there this only reports.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_ROLE:?FAAS_ROLE must be controller or worker}"
if [ "$FAAS_ROLE" != worker ]; then
  echo "faas: no function sandbox on the $FAAS_ROLE"
  exit 0
fi
install -m 0755 /tmp/faas-files/faas-sandbox-firewall.sh /usr/local/bin/faas-sandbox-firewall
if command -v dnf >/dev/null 2>&1; then
  dnf install -y bubblewrap util-linux iptables-nft
fi
missing=""
for tool in bwrap setpriv iptables ip6tables; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ "${PACKER_BUILDER_TYPE:-}" = amazon-ebs ]; then
  # An AMI must have everything: the worker unit fails closed without it.
  if [ -n "$missing" ]; then
    echo "faas: the worker AMI lacks:$missing" >&2
    exit 1
  fi
  # Takes effect on the next boot, i.e. on every instance launched from this image.
  grubby --update-kernel=ALL --args="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller"
  echo "faas: worker kernels boot the cgroup v1 hierarchy: $(grubby --info=DEFAULT | grep '^args=')"
elif [ -n "$missing" ]; then
  echo "faas: this image lacks:$missing (no package source here); the local cloud sandboxes with its own base"
fi
echo "faas: function sandbox prerequisites installed (bubblewrap, setpriv, iptables, ip6tables)"
