#!/usr/bin/env bash
# The offline Node.js base: FROM scratch with the platform's pinned Node.js (.node-version, installed on
# this host by scripts/install-node.sh; scripts/build-images.sh makes sure it is there) and the
# libraries it links, setpriv (the worker drops to a sandbox's uid through it), users root, faas
# (10001) and nobody, and a /tmp. It plays the part of node:24-bookworm-slim on machines that cannot
# pull it. Node sits at /usr/bin/node, mode 0755 like every folder above it, so the worker's sandboxes
# (other uids) can run the binary the worker bind-mounts into them (process.execPath).
set -euo pipefail
ROOT=$1
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"
node_dir=$(sh "$(dirname "$0")/../../scripts/install-node.sh" --dir)
[ -x "$node_dir/bin/node" ] || { echo "images: $node_dir/bin/node is missing: run scripts/install-node.sh" >&2; exit 1; }
rootfs_init
rootfs_add_binary "$node_dir/bin/node" /usr/bin/node
rootfs_add_binary /usr/bin/setpriv
rootfs_add_users faas:10001
