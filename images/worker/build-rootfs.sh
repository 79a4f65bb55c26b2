#!/usr/bin/env bash
# The worker's sandbox tools, laid over its base image: Debian's bubblewrap (bwrap), setpriv, prlimit, /bin/sh
# (dash) for the one-line cgroup attach before each function, and mount + unshare for the boot script
# (images/worker/boot.sh), each with the libraries it links, all from this host. On the official
# node:24-bookworm-slim base these replace the base's own copies of the same Debian libraries.
set -euo pipefail
ROOT=$1
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"
command -v bwrap >/dev/null || { echo "images: bwrap is missing: apt-get install -y bubblewrap" >&2; exit 1; }
mkdir -p "$ROOT/usr/bin" "$ROOT/usr/local/bin" "$ROOT/run/faas-proc"
for tool in bwrap setpriv prlimit mount unshare; do
  rootfs_add_binary "$(readlink -f "$(command -v "$tool")")" "/usr/bin/$tool"
done
rootfs_add_binary "$(readlink -f /bin/sh)" /usr/bin/dash
ln -sfn dash "$ROOT/usr/bin/sh"
install -m 0755 "$(dirname "$0")/boot.sh" "$ROOT/usr/local/bin/faas-worker-boot"
