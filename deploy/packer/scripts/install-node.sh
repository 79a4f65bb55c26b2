#!/bin/sh
# Node.js 20, the runtime of both services. Amazon Linux 2023 packages it; the local images' base
# (built offline by another issue) already carries it, and no package mirror is reachable there.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
want=20
if command -v node >/dev/null 2>&1 && node --version | grep -q "^v$want\."; then
  echo "faas: node $(node --version) already present"
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y "nodejs$want"
  # AL2023 installs node-20 beside an optional alternative; the units call /usr/bin/node.
  [ -x /usr/bin/node ] || ln -sf "/usr/bin/node-$want" /usr/bin/node
else
  echo "faas: no Node.js $want in the base image and no dnf to install it" >&2
  exit 1
fi
[ -x /usr/bin/node ] || ln -sf "$(command -v node)" /usr/bin/node
echo "faas: node $(/usr/bin/node --version) at /usr/bin/node"
