#!/bin/bash
# tls_mode = acme: Caddy's storage (its ACME account, the certificate and the certificate's key) outlives
# the controller instance, so that a replacement serves the certificate its predecessor obtained instead
# of asking the CA for a new one: Let's Encrypt issues at most 5 certificates a week for the same name,
# and an instance refresh, a watchdog replacement or a crash loop would otherwise spend them in a day.
#   restore  before Caddy starts (faas-boot): the bucket's copy into Caddy's data folder, owned by caddy.
#   save     hourly (faas-caddy-storage.timer) and when Caddy stops (caddy.service's ExecStopPost): the
#            folder's changed files into the bucket, SSE-KMS. Nothing is ever deleted from the copy.
# The copy is s3://<code bucket>/tls/caddy (FAAS_BOOT_CADDY_STORAGE), which the controller's role
# reads and writes and the workers' role is denied. Caddy's lock files stay local: a lock copied to a
# new instance would name a process that no longer exists.
# FAAS_ETC, FAAS_CADDY_DATA and FAAS_CADDY_USER can be moved for tests; the commands are the real ones.
set -euo pipefail
etc="${FAAS_ETC:-/etc/faas}"
data="${FAAS_CADDY_DATA:-/var/lib/caddy/.local/share/caddy}"
owner="${FAAS_CADDY_USER:-caddy}"
set -a
# shellcheck disable=SC1091
. "$etc/boot.env"
set +a
remote="${FAAS_BOOT_CADDY_STORAGE:?boot.env has no FAAS_BOOT_CADDY_STORAGE}"

case "${1:-}" in
  restore)
    group="$(id -gn "$owner")"
    install -d -m 0700 -o "$owner" -g "$group" "$data"
    aws s3 sync --region "$AWS_REGION" --only-show-errors --exclude 'locks/*' "$remote/" "$data/"
    chown -R "$owner:$group" "$data"
    chmod -R go-rwx "$data"
    ;;
  save)
    if [[ ! -d "$data" ]]; then exit 0; fi
    aws s3 sync --region "$AWS_REGION" --only-show-errors --exclude 'locks/*' --sse aws:kms "$data/" "$remote/"
    ;;
  *)
    echo "usage: faas-caddy-storage.sh restore|save" >&2
    exit 2
    ;;
esac
