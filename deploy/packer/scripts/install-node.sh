#!/bin/sh
# Node.js, the runtime of both services: exactly the version pinned in .node-version (FAAS_NODE_VERSION,
# which the template reads from it), the official x64 or arm64 build that the npm registry carries as a
# package, installed by the script `make` uses (scripts/install-node.sh, uploaded to /tmp/faas-files)
# into /usr/local/lib/faas/node-v<version>. That folder is world-readable: the worker bind-mounts its
# own binary (process.execPath, the link's target) into the function sandboxes, which run as other
# uids. /usr/bin/node, which the units call, links to it. Amazon Linux 2023's nodejs packages follow
# their own releases; the registry has the pinned one, and the build instance reaches it as it reaches
# dnf's mirrors. A local image whose base already carries that version keeps it (no registry there).
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_NODE_VERSION:?FAAS_NODE_VERSION must be the pinned Node.js version (.node-version)}"
if [ "$(node --version 2>/dev/null || true)" = "v$FAAS_NODE_VERSION" ]; then
  node=$(readlink -f "$(command -v node)")
  echo "faas: node v$FAAS_NODE_VERSION already present at $node"
else
  sh /tmp/faas-files/install-node.sh
  node=$(sh /tmp/faas-files/install-node.sh --dir)/bin/node
fi
[ "$node" = /usr/bin/node ] || ln -sfn "$node" /usr/bin/node
echo "faas: node $(/usr/bin/node --version) at /usr/bin/node -> $node ($(uname -m))"
