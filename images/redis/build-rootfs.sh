#!/usr/bin/env bash
# Redis from this host's redis-server (Debian's 7.0) and its libraries, run as user redis (10002), with
# dash for the entrypoint that turns FAAS_REDIS_PASSWORD into a config file (images/redis/entrypoint.sh).
set -euo pipefail
ROOT=$1
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"
command -v redis-server >/dev/null || { echo "images: redis-server is missing: apt-get install -y redis-server" >&2; exit 1; }
rootfs_init
rootfs_add_binary "$(readlink -f "$(command -v redis-server)")" /usr/bin/redis-server
rootfs_add_binary "$(readlink -f /bin/sh)" /usr/bin/dash
ln -sfn dash "$ROOT/usr/bin/sh"
install -D -m 0755 "$(dirname "$0")/entrypoint.sh" "$ROOT/usr/local/bin/redis-entrypoint"
rootfs_add_tini
rootfs_add_users redis:10002
mkdir -p "$ROOT/data"
