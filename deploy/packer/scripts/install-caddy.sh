#!/bin/sh
# Caddy, the TLS front of the controller with tls_mode = acme (deploy/terraform/tls.tf): it obtains and
# renews the API's certificate from an ACME CA and proxies to the controller's loopback port. Baked into
# every controller AMI (about 40 MB), started only in that mode (faas-boot). The workers and the local
# images get none: the local cloud cannot reach an ACME CA.
# The official release of the pinned version (FAAS_CADDY_VERSION, the template's caddy_version) from
# GitHub, for the instance's architecture: Amazon Linux 2023 is not among the distributions Caddy's
# package repositories serve. Its SHA-512 is checked against FAAS_CADDY_SHA512 when the template pins
# one (caddy_sha512), else against the release's own checksums file, which guards against a broken
# download but not against a release replaced at its source (deploy/README.md "TLS").
# Then Caddy's system user and unit (files/caddy.service, the upstream unit plus a storage copy on stop)
# and the storage copy's script and hourly timer.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_ROLE:?FAAS_ROLE must be controller or worker}"
if [ "$FAAS_ROLE" != controller ] || [ "${PACKER_BUILDER_TYPE:-}" = docker ] || ! command -v systemctl >/dev/null 2>&1; then
  echo "faas: no Caddy in this image (the controller AMI's TLS front for tls_mode = acme)"
  exit 0
fi
version="${FAAS_CADDY_VERSION:?FAAS_CADDY_VERSION must be the pinned Caddy version}"
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) echo "faas: no Caddy build for $(uname -m)" >&2; exit 1 ;;
esac
release="https://github.com/caddyserver/caddy/releases/download/v$version"
tarball="caddy_${version}_linux_$arch.tar.gz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 -o "$work/$tarball" "$release/$tarball"
expected="${FAAS_CADDY_SHA512:-}"
if [ -z "$expected" ]; then
  curl -fsSL --retry 3 -o "$work/checksums.txt" "$release/caddy_${version}_checksums.txt"
  expected=$(awk -v f="$tarball" '$2 == f { print $1 }' "$work/checksums.txt")
fi
[ -n "$expected" ] || { echo "faas: no SHA-512 for $tarball" >&2; exit 1; }
echo "$expected  $work/$tarball" | sha512sum -c -
tar -xzf "$work/$tarball" -C "$work" caddy
install -m 0755 "$work/caddy" /usr/bin/caddy
/usr/bin/caddy version

getent group caddy >/dev/null || groupadd --system caddy
id caddy >/dev/null 2>&1 || useradd --system --gid caddy --create-home --home-dir /var/lib/caddy \
  --shell /sbin/nologin --comment "Caddy web server" caddy
install -d -m 0755 /etc/caddy
install -m 0644 /tmp/faas-files/caddy.service /etc/systemd/system/caddy.service
install -m 0644 /tmp/faas-files/faas-caddy-storage.service /etc/systemd/system/faas-caddy-storage.service
install -m 0644 /tmp/faas-files/faas-caddy-storage.timer /etc/systemd/system/faas-caddy-storage.timer
install -m 0755 /tmp/faas-files/faas-caddy-storage.sh /opt/faas/bin/faas-caddy-storage.sh
echo "faas: Caddy $version installed, not enabled (faas-boot starts it with tls_mode = acme)"
