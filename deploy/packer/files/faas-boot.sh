#!/bin/bash
# Runs from user data on every new instance. Reads the settings user data wrote to /etc/faas/boot.env,
# fetches the secrets (SSM Parameter Store, or for workers with FAAS_BOOT_SECRETS_FROM=s3 one encrypted
# S3 object through the gateway endpoint), writes the service's environment file (root only), sets up
# log shipping (the CloudWatch agent, or for workers with FAAS_BOOT_LOGS=s3 a timer copying the log to
# S3), starts the service under systemd and then its watchdog. The controller claims the Elastic IP itself.
# Secrets: the API key (controller only), the worker secret, FAAS_ENV_KEY, and the Redis AUTH token,
# which goes into FAAS_REDIS_URL=rediss://:<token>@<FAAS_REDIS_ENDPOINT> (TLS; ioredis parses it).
# The workers' sandbox firewall is not set here but by faas-worker.service itself before every start
# (/usr/local/bin/faas-sandbox-firewall), so it also holds after a reboot.
#
# Fails closed: any failed step (an unreachable or empty secret, a service that does not start) ends
# the script non-zero, and the EXIT trap takes the instance out of service (faas-health.sh: Unhealthy
# in its group, or power off), so the group replaces it rather than keeping an instance whose service
# restarts forever with an empty secret while EC2's checks pass.
# FAAS_ETC, FAAS_BIN and the retry settings can be moved for tests; the commands are the real ones.
set -euo pipefail
etc="${FAAS_ETC:-/etc/faas}"
bin="${FAAS_BIN:-/opt/faas/bin}"
attempts="${FAAS_BOOT_ATTEMPTS:-10}"
delay_s="${FAAS_BOOT_RETRY_DELAY_S:-2}"
# shellcheck source=faas-health.sh
. "$bin/faas-health.sh"

step="reading $etc/boot.env"
on_exit() {
  local rc=$?
  if ((rc != 0)); then faas_mark_unhealthy "faas-boot failed (exit $rc) while $step"; fi
  exit "$rc"
}
trap on_exit EXIT

set -a
# shellcheck disable=SC1091
. "$etc/boot.env"
set +a
role="$FAAS_ROLE"

# A command, retried: the endpoints' DNS and the instance role's credentials may lag the boot.
retry() {
  local attempt
  for ((attempt = 1; attempt <= attempts; attempt++)); do
    if "$@"; then return 0; fi
    echo "faas-boot: $1 $2 failed (attempt $attempt of $attempts)" >&2
    if ((attempt < attempts)); then sleep $((attempt * delay_s)); fi
  done
  return 1
}
ssm_value() {
  aws ssm get-parameter --region "$AWS_REGION" --with-decryption --name "$1" \
    --query Parameter.Value --output text
}
# One secret from the S3 object's KEY=value lines, never by sourcing it.
secret_in() {
  local line
  while IFS= read -r line; do
    if [[ "$line" == "$2="* ]]; then
      printf '%s' "${line#*=}"
      return 0
    fi
  done <<<"$1"
  echo "faas-boot: the secrets object has no $2" >&2
  return 1
}
# An empty or "None" value is as broken as an unreadable one.
nonempty() {
  if [[ -z "$2" || "$2" == None ]]; then
    echo "faas-boot: $1 is empty" >&2
    return 1
  fi
}

: "${FAAS_REDIS_ENDPOINT:?boot.env has no FAAS_REDIS_ENDPOINT}"
umask 077
# Command substitutions are assigned first, one per statement: inside `echo "X=$(...)"` a failed read
# would not stop the script (set -e ignores it there) and an empty secret would reach the service.
if [[ "$role" == worker && "${FAAS_BOOT_SECRETS_FROM:-ssm}" == s3 ]]; then
  step="reading the secrets object ${FAAS_BOOT_SECRETS_OBJECT:-}"
  secrets="$(retry aws s3 cp --region "$AWS_REGION" "${FAAS_BOOT_SECRETS_OBJECT:?boot.env has no FAAS_BOOT_SECRETS_OBJECT}" -)"
  worker_secret="$(secret_in "$secrets" FAAS_WORKER_SECRET)"
  env_key="$(secret_in "$secrets" FAAS_ENV_KEY)"
  redis_token="$(secret_in "$secrets" FAAS_REDIS_AUTH_TOKEN)"
  unset secrets
else
  step="reading $FAAS_SSM_WORKER_SECRET from SSM"
  worker_secret="$(retry ssm_value "$FAAS_SSM_WORKER_SECRET")"
  step="reading $FAAS_SSM_ENV_KEY from SSM"
  env_key="$(retry ssm_value "$FAAS_SSM_ENV_KEY")"
  step="reading $FAAS_SSM_REDIS_AUTH_TOKEN from SSM"
  redis_token="$(retry ssm_value "$FAAS_SSM_REDIS_AUTH_TOKEN")"
fi
if [[ "$role" == controller ]]; then
  step="reading $FAAS_SSM_API_KEY from SSM"
  api_key="$(retry ssm_value "$FAAS_SSM_API_KEY")"
  nonempty "the API key" "$api_key"
fi
step="checking the secrets"
nonempty "the worker secret" "$worker_secret"
nonempty "FAAS_ENV_KEY" "$env_key"
nonempty "the Redis AUTH token" "$redis_token"

step="writing $etc/$role.env"
{
  grep -v -E '^(FAAS_SSM_|FAAS_BOOT_|FAAS_ROLE=|FAAS_LOG_GROUP=|FAAS_REDIS_ENDPOINT=)' "$etc/boot.env"
  if [[ "$role" == controller ]]; then echo "FAAS_API_KEY=$api_key"; fi
  echo "FAAS_WORKER_SECRET=$worker_secret"
  echo "FAAS_ENV_KEY=$env_key"
  # The token is letters, digits and '-' (Terraform validates it), so it needs no escaping here.
  echo "FAAS_REDIS_URL=rediss://:$redis_token@$FAAS_REDIS_ENDPOINT"
} >"$etc/$role.env.tmp"
mv "$etc/$role.env.tmp" "$etc/$role.env"
unset worker_secret env_key redis_token api_key
umask 022

if [[ "$role" == worker && "${FAAS_BOOT_LOGS:-cloudwatch}" == s3 ]]; then
  step="starting the log upload to ${FAAS_BOOT_LOGS_S3_PREFIX:-}"
  systemctl enable --now faas-log-upload.timer
else
  step="configuring the CloudWatch agent"
  ctl=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
  if [[ -x "$ctl" ]]; then
    sed -e "s#@LOG_FILE@#/var/log/faas/$role.log#" -e "s#@LOG_GROUP@#$FAAS_LOG_GROUP#" \
      /opt/faas/etc/cloudwatch-agent.json.tpl >/opt/faas/etc/cloudwatch-agent.json
    "$ctl" -a fetch-config -m ec2 -s -c file:/opt/faas/etc/cloudwatch-agent.json
  fi
fi

step="starting faas-$role.service"
systemctl start "faas-$role.service"
step="starting faas-watchdog.timer"
systemctl enable --now faas-watchdog.timer
echo "faas-boot: faas-$role started, watched by faas-watchdog.timer"
