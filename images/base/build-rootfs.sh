#!/usr/bin/env bash
# The offline Node.js base: FROM scratch with this host's node and the libraries it links, setpriv (the
# worker drops to a sandbox's uid through it), users root, faas (10001) and nobody, and a /tmp.
# It plays the part of node:20-bookworm-slim on machines that cannot pull it.
set -euo pipefail
ROOT=$1
# shellcheck source=../lib/rootfs.sh
source "$(dirname "$0")/../lib/rootfs.sh"
rootfs_init
rootfs_add_binary "$(readlink -f "$(command -v node)")" /usr/bin/node
rootfs_add_binary /usr/bin/setpriv
rootfs_add_users faas:10001
