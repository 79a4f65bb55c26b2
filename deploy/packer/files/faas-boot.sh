#!/bin/bash
# Runs from user data on every new instance. Reads the settings user data wrote to /etc/faas/boot.env,
# fetches the secrets from SSM Parameter Store (workers through the VPC endpoint), writes the
# service's environment file (root only), points the CloudWatch agent at the role's log group and
# starts the service under systemd. The controller then claims the Elastic IP itself.
set -euo pipefail
set -a
# shellcheck disable=SC1091
. /etc/faas/boot.env
set +a
role="$FAAS_ROLE"

param() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if aws ssm get-parameter --region "$AWS_REGION" --with-decryption --name "$1" \
      --query Parameter.Value --output text; then
      return 0
    fi
    echo "faas-boot: SSM not reachable yet (attempt $attempt)" >&2
    sleep $((attempt * 2))
  done
  return 1
}

umask 077
{
  grep -v -E '^(FAAS_SSM_|FAAS_ROLE=|FAAS_LOG_GROUP=)' /etc/faas/boot.env
  if [[ "$role" == controller ]]; then echo "FAAS_API_KEY=$(param "$FAAS_SSM_API_KEY")"; fi
  echo "FAAS_WORKER_SECRET=$(param "$FAAS_SSM_WORKER_SECRET")"
} >"/etc/faas/$role.env.tmp"
mv "/etc/faas/$role.env.tmp" "/etc/faas/$role.env"
umask 022

if [[ "$role" == worker ]] && command -v iptables >/dev/null; then
  # Functions run as the sandbox user; they must not read the instance role's credentials.
  iptables -C OUTPUT -d 169.254.169.254 -m owner --uid-owner nobody -j REJECT 2>/dev/null ||
    iptables -A OUTPUT -d 169.254.169.254 -m owner --uid-owner nobody -j REJECT
fi

ctl=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
if [[ -x "$ctl" ]]; then
  sed -e "s#@LOG_FILE@#/var/log/faas/$role.log#" -e "s#@LOG_GROUP@#$FAAS_LOG_GROUP#" \
    /opt/faas/etc/cloudwatch-agent.json.tpl >/opt/faas/etc/cloudwatch-agent.json
  "$ctl" -a fetch-config -m ec2 -s -c file:/opt/faas/etc/cloudwatch-agent.json
fi

systemctl start "faas-$role.service"
echo "faas-boot: faas-$role started"
