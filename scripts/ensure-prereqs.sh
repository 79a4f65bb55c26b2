#!/usr/bin/env bash
# Installs what the platform needs on this machine, or says exactly what is missing and how to get it.
# Idempotent and quiet when everything is already there. Used by `make dev`, `make test` and CI.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'prereqs: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  say "installing $* from Debian's packages"
  if [ ! -f /tmp/.faas-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.faas-apt-updated; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Node.js 24 or newer. When this machine's is older, the version pinned in .node-version, installed by
# scripts/install-node.sh (which says where, and why there). Its bin goes first on PATH, as in the
# Makefile, so npm ci below runs on it too.
node_dir=$(sh scripts/install-node.sh --dir)
export PATH="$node_dir/bin:$PATH"
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 24 ]; then
  sh scripts/install-node.sh || { say "cannot install Node.js $(cat .node-version): see above"; exit 1; }
  hash -r
  [ "$(node_major)" -ge 24 ] || { say "Node.js 24 or newer is required (found: $(node --version 2>/dev/null || echo none))"; exit 1; }
fi
command -v npm >/dev/null || { say "npm is missing: apt-get install -y npm"; exit 1; }
# Native addons (optional ones, in dockerode's ssh2) build against the headers of the Node.js that runs
# npm; the pinned one carries its own, so nothing is downloaded for them.
if [ -d "$node_dir/include/node" ]; then export npm_config_nodedir="$node_dir"; fi

abi=$(node -p process.versions.modules)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$abi" >node_modules/.faas-node-abi
elif [ "$(cat node_modules/.faas-node-abi 2>/dev/null)" != "$abi" ]; then
  # Installed by an older Node.js: rebuild the native addons for this one (npm ci would start over).
  say "rebuilding native npm dependencies for Node.js $(node --version) (npm rebuild)"
  npm rebuild --no-audit --no-fund --loglevel=error >/dev/null
  echo "$abi" >node_modules/.faas-node-abi
fi

if ! command -v redis-server >/dev/null; then
  apt_install redis-server || { say "redis-server is missing: apt-get install -y redis-server"; exit 1; }
  # Debian's package starts a system Redis on 6379; the platform runs its own, so stop that one.
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then as_root systemctl stop redis-server || true; fi
  if [ -f /var/run/redis/redis-server.pid ]; then as_root kill "$(cat /var/run/redis/redis-server.pid)" 2>/dev/null || true; fi
fi

# Function sandboxes: bubblewrap (namespaces); setpriv and prlimit come with util-linux.
if ! command -v bwrap >/dev/null; then
  apt_install bubblewrap || { say "bubblewrap is missing: apt-get install -y bubblewrap"; exit 1; }
fi

if ! command -v moto_server >/dev/null; then
  say "moto_server is missing; trying pip"
  python3 -m pip install --quiet 'moto[server]' 2>/dev/null || {
    say "cannot install moto: run \`pip install 'moto[server]'\`, or point AWS_ENDPOINT_URL at another AWS emulator"; exit 1; }
fi

if [ "${FAAS_NEED_PACKER:-0}" = 1 ] && ! command -v packer >/dev/null; then
  apt_install packer || { say "packer is missing: apt-get install -y packer"; exit 1; }
fi
