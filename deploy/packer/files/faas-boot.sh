#!/bin/bash
# Runs from user data on every new instance. Reads the settings user data wrote to /etc/faas/boot.env,
# fetches the secrets from SSM Parameter Store (workers through the VPC endpoint), writes the
# service's environment file (root only), points the CloudWatch agent at the role's log group and
# starts the service under systemd. The controller then claims the Elastic IP itself.
# Secrets: the API key (controller only), the worker secret, FAAS_ENV_KEY, and the Redis AUTH token,
# which goes into FAAS_REDIS_URL=rediss://:<token>@<FAAS_REDIS_ENDPOINT> (TLS; ioredis parses it).
# The workers' sandbox firewall is not set here but by faas-worker.service itself before every start
# (/usr/local/bin/faas-sandbox-firewall), so it also holds after a reboot.
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

: "${FAAS_REDIS_ENDPOINT:?boot.env has no FAAS_REDIS_ENDPOINT}"
umask 077
# Command substitutions are assigned first: inside `echo "...$(param ...)"` a failed read would not
# stop the script (set -e ignores it there) and an empty secret would reach the service.
worker_secret="$(param "$FAAS_SSM_WORKER_SECRET")"
env_key="$(param "$FAAS_SSM_ENV_KEY")"
redis_token="$(param "$FAAS_SSM_REDIS_AUTH_TOKEN")"
if [[ "$role" == controller ]]; then api_key="$(param "$FAAS_SSM_API_KEY")"; fi
{
  grep -v -E '^(FAAS_SSM_|FAAS_ROLE=|FAAS_LOG_GROUP=|FAAS_REDIS_ENDPOINT=)' /etc/faas/boot.env
  if [[ "$role" == controller ]]; then echo "FAAS_API_KEY=$api_key"; fi
  echo "FAAS_WORKER_SECRET=$worker_secret"
  echo "FAAS_ENV_KEY=$env_key"
  # The token is letters, digits and '-' (Terraform validates it), so it needs no escaping here.
  echo "FAAS_REDIS_URL=rediss://:$redis_token@$FAAS_REDIS_ENDPOINT"
} >"/etc/faas/$role.env.tmp"
mv "/etc/faas/$role.env.tmp" "/etc/faas/$role.env"
unset worker_secret env_key redis_token api_key
umask 022

ctl=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
if [[ -x "$ctl" ]]; then
  sed -e "s#@LOG_FILE@#/var/log/faas/$role.log#" -e "s#@LOG_GROUP@#$FAAS_LOG_GROUP#" \
    /opt/faas/etc/cloudwatch-agent.json.tpl >/opt/faas/etc/cloudwatch-agent.json
  "$ctl" -a fetch-config -m ec2 -s -c file:/opt/faas/etc/cloudwatch-agent.json
fi

systemctl start "faas-$role.service"
echo "faas-boot: faas-$role started"
