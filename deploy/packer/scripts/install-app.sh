#!/bin/sh
# The application bundle (dist/ + package.json + lock + production node_modules, built by
# deploy/scripts/bundle.sh) into /opt/faas/app, the boot script into /opt/faas/bin, and the service
# user. FAAS_ROLE is controller or worker.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_ROLE:?FAAS_ROLE must be controller or worker}"
install -d -m 0755 /opt/faas/app /opt/faas/bin /opt/faas/etc /etc/faas /var/log/faas
tar -xzf /tmp/faas-bundle.tar.gz -C /opt/faas/app
test -f "/opt/faas/app/dist/services/$FAAS_ROLE/main.js"
install -m 0755 /tmp/faas-files/faas-boot.sh /opt/faas/bin/faas-boot
# Sourced by faas-boot, faas-watchdog and faas-log-upload: how the instance takes itself out of service.
install -m 0644 /tmp/faas-files/faas-health.sh /opt/faas/bin/faas-health.sh
install -m 0755 /tmp/faas-files/faas-watchdog.sh /opt/faas/bin/faas-watchdog
install -m 0755 /tmp/faas-files/faas-log-upload.sh /opt/faas/bin/faas-log-upload
echo "$FAAS_ROLE" >/opt/faas/etc/role
# The controller runs unprivileged; the worker stays root because it starts each function in
# bubblewrap as a per-sandbox uid (install-sandbox.sh).
if ! id faas >/dev/null 2>&1; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --home-dir /opt/faas --shell /sbin/nologin faas
  else
    echo "faas:x:990:990:faas:/opt/faas:/sbin/nologin" >>/etc/passwd
    echo "faas:x:990:" >>/etc/group
  fi
fi
chown faas:faas /var/log/faas
echo "faas: installed the $FAAS_ROLE bundle ($(du -sh /opt/faas/app | cut -f1))"
