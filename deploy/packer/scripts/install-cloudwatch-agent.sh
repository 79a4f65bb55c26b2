#!/bin/sh
# The CloudWatch agent, configured at boot (faas-boot) to ship /var/log/faas/<role>.log to the role's
# log group. Amazon Linux 2023 packages it; the local images have no package mirror and send their
# logs to stdout, where the local cloud collects them.
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
: "${FAAS_ROLE:?FAAS_ROLE must be controller or worker}"
install -m 0644 /tmp/faas-files/cloudwatch-agent.json.tpl /opt/faas/etc/cloudwatch-agent.json.tpl
if command -v dnf >/dev/null 2>&1; then
  dnf install -y amazon-cloudwatch-agent
  echo "faas: CloudWatch agent installed; faas-boot configures it for /var/log/faas/$FAAS_ROLE.log"
else
  echo "faas: no package source for the CloudWatch agent here; logs go to stdout (local image)"
fi
