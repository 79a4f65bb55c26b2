#!/usr/bin/env bash
# Makes Docker's internal networks as private as a subnet without a NAT gateway.
#
#   compose/isolation.sh apply  <network>...   add the rules for these internal networks
#   compose/isolation.sh remove <network>...   remove them (also when the networks are already gone)
#   compose/isolation.sh show   [<network>...] print the rules this script added
#
# `internal: true` in Docker 20.10 only drops forwarded traffic: containers keep a default route to the
# bridge's own address, and packets to any address of the host arrive through INPUT, so a host service
# listening on the bridge address (or 0.0.0.0) is reachable from a "private" container. For each
# internal network this adds, labelled with the comment `faas-isolation:<network>`:
#   INPUT        from the bridge: replies to connections the host opened are accepted, the rest refused
#   DOCKER-USER  from the bridge to any other interface: refused at once instead of silently dropped
# Containers on the same network still talk to each other; the host can still open connections to
# them (the tests and the emulator do).
set -euo pipefail

say() { printf 'isolation: %s\n' "$*" >&2; }

bridge_of() { # the Linux bridge of a Docker network, or nothing when it is not internal or gone
  local id internal
  id=$(docker network inspect -f '{{.Id}}' "$1" 2>/dev/null) || return 0
  internal=$(docker network inspect -f '{{.Internal}}' "$1")
  [ "$internal" = true ] || { say "$1 is not an internal network; left alone"; return 0; }
  local name
  name=$(docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$1")
  echo "${name:-br-${id:0:12}}"
}

remove_rules() { # every rule carrying the network's comment, in both chains
  local tag="faas-isolation:$1" chain rule
  for chain in INPUT DOCKER-USER; do
    while rule=$(iptables -S "$chain" 2>/dev/null | grep -F -- "--comment \"$tag\"" | head -1) && [ -n "$rule" ]; do
      eval "iptables ${rule/-A /-D }"
    done
  done
}

apply_rules() {
  local bridge tag="faas-isolation:$1"
  bridge=$(bridge_of "$1")
  [ -n "$bridge" ] || return 0
  remove_rules "$1"
  iptables -I INPUT 1 -i "$bridge" -j REJECT --reject-with icmp-port-unreachable -m comment --comment "$tag"
  iptables -I INPUT 1 -i "$bridge" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT -m comment --comment "$tag"
  iptables -N DOCKER-USER 2>/dev/null || true
  iptables -I DOCKER-USER 1 -i "$bridge" ! -o "$bridge" -j REJECT --reject-with icmp-port-unreachable -m comment --comment "$tag"
  say "$1 ($bridge): host services and other networks refused"
}

[ "$(id -u)" = 0 ] || { say "changing iptables needs root"; exit 1; }
command -v iptables >/dev/null || { say "iptables is missing (it comes with docker.io)"; exit 1; }
action=${1:-}
shift || true
case "$action" in
  apply) for n in "$@"; do apply_rules "$n"; done ;;
  remove) for n in "$@"; do remove_rules "$n"; done ;;
  show)
    if [ "$#" = 0 ]; then pattern="faas-isolation:"; else pattern=$(printf 'faas-isolation:%s\n' "$@"); fi
    { iptables -S INPUT; iptables -S DOCKER-USER 2>/dev/null; } | grep -F -- "$pattern" || true
    ;;
  *) say "usage: $0 apply|remove|show <network>..."; exit 2 ;;
esac
