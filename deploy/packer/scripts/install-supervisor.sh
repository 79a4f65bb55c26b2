#!/bin/sh
# The process supervisor. On an AMI it is systemd: PID 1 already, restarts the service, needs no extra
# runtime the way PM2 would, and reads the secrets file as root before dropping privileges. In a
# container there is no init system: the image's entrypoint is the service itself and the container
# runtime (or the local cloud's ASG reconciler) restarts it, so nothing is installed there.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_ROLE:?FAAS_ROLE must be controller or worker}"
if [ "${PACKER_BUILDER_TYPE:-}" = docker ] || ! command -v systemctl >/dev/null 2>&1; then
  echo "faas: no systemd in this image; the container runtime supervises the $FAAS_ROLE"
  exit 0
fi
install -m 0644 "/tmp/faas-files/faas-$FAAS_ROLE.service" "/etc/systemd/system/faas-$FAAS_ROLE.service"
# The watchdog (both roles) and the workers' S3 log upload: enabled by faas-boot, not here.
for unit in faas-watchdog.service faas-watchdog.timer faas-log-upload.service faas-log-upload.timer; do
  install -m 0644 "/tmp/faas-files/$unit" "/etc/systemd/system/$unit"
done
install -m 0644 /tmp/faas-files/logrotate.conf /etc/logrotate.d/faas
# Enabled now, started by faas-boot once user data has written /etc/faas/<role>.env; the unit's
# ConditionPathExists keeps it from starting on the first boot before that.
systemctl enable "faas-$FAAS_ROLE.service"
echo "faas: systemd supervises faas-$FAAS_ROLE (Restart=always)"
