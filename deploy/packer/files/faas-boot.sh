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
# TLS on the public API (controller only; deploy/terraform/tls.tf), by FAAS_BOOT_TLS_MODE:
#   self-signed  the certificate and key from SSM (FAAS_SSM_TLS_CERT/KEY), checked to be a pair whose
#                certificate has the SHA-256 user data names (FAAS_BOOT_TLS_FINGERPRINT, which clients pin),
#                written to $etc/tls/ (mode 600, owned by the service user, which alone reads them) and
#                named in the service's environment (FAAS_TLS_CERT_FILE, FAAS_TLS_KEY_FILE).
#   acme         Caddy's storage restored from the code bucket (faas-caddy-storage.sh), its Caddyfile
#                written from FAAS_BOOT_TLS_DOMAIN/ACME_EMAIL/ACME_CA (checked again here: they land in a
#                configuration file), then Caddy started in front of the controller's loopback port.
#   off          nothing: plain HTTP.
#
# Fails closed: any failed step (an unreachable or empty secret, a service that does not start) ends
# the script non-zero, and the EXIT trap takes the instance out of service (faas-health.sh: Unhealthy
# in its group, or power off), so the group replaces it rather than keeping an instance whose service
# restarts forever with an empty secret while EC2's checks pass.
# FAAS_ETC, FAAS_BIN, FAAS_CADDY_ETC, FAAS_SERVICE_USER and the retry settings can be moved for tests;
# the commands are the real ones.
set -euo pipefail
etc="${FAAS_ETC:-/etc/faas}"
bin="${FAAS_BIN:-/opt/faas/bin}"
caddy_etc="${FAAS_CADDY_ETC:-/etc/caddy}"
# The controller's unit runs as this user (install-app.sh makes it); the API's key file is for it alone.
service_user="${FAAS_SERVICE_USER:-faas}"
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
tls_mode=off
if [[ "$role" == controller ]]; then tls_mode="${FAAS_BOOT_TLS_MODE:-off}"; fi

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
# "AB:CD:..." from any spelling of a SHA-256 fingerprint (openssl prints "sha256 Fingerprint=ab:cd...").
fingerprint_of() {
  local printed
  # `|| return 1`: set -e does not reach into the command substitution that calls this.
  printed="$(printf '%s\n' "$1" | openssl x509 -noout -fingerprint -sha256)" || return 1
  printed="${printed#*=}"
  printf '%s' "${printed^^}"
}
# A value that lands in the Caddyfile: it must be exactly what Terraform's validation lets through.
matches() {
  if [[ ! "$2" =~ $3 ]]; then
    echo "faas-boot: $1 '$2' is not allowed here" >&2
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
case "$tls_mode" in
  self-signed)
    step="reading ${FAAS_SSM_TLS_CERT:-} from SSM"
    tls_cert="$(retry ssm_value "${FAAS_SSM_TLS_CERT:?boot.env has no FAAS_SSM_TLS_CERT}")"
    nonempty "the API's certificate" "$tls_cert"
    step="reading ${FAAS_SSM_TLS_KEY:-} from SSM"
    tls_key="$(retry ssm_value "${FAAS_SSM_TLS_KEY:?boot.env has no FAAS_SSM_TLS_KEY}")"
    nonempty "the API's private key" "$tls_key"
    step="checking the API's certificate"
    presented="$(fingerprint_of "$tls_cert")"
    if [[ "$presented" != "${FAAS_BOOT_TLS_FINGERPRINT:?boot.env has no FAAS_BOOT_TLS_FINGERPRINT}" ]]; then
      echo "faas-boot: the certificate in $FAAS_SSM_TLS_CERT has SHA-256 $presented, not the $FAAS_BOOT_TLS_FINGERPRINT that clients pin" >&2
      exit 1
    fi
    cert_public="$(printf '%s\n' "$tls_cert" | openssl x509 -noout -pubkey)"
    key_public="$(printf '%s\n' "$tls_key" | openssl pkey -pubout)"
    if [[ "$cert_public" != "$key_public" ]]; then
      echo "faas-boot: $FAAS_SSM_TLS_KEY is not the private key of the certificate in $FAAS_SSM_TLS_CERT" >&2
      exit 1
    fi
    ;;
  acme)
    step="checking the ACME settings"
    matches "FAAS_BOOT_TLS_DOMAIN" "${FAAS_BOOT_TLS_DOMAIN:-}" '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$'
    if [[ -n "${FAAS_BOOT_ACME_EMAIL:-}" ]]; then
      matches "FAAS_BOOT_ACME_EMAIL" "$FAAS_BOOT_ACME_EMAIL" '^[A-Za-z0-9._%+-]+@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$'
    fi
    matches "FAAS_BOOT_ACME_CA" "${FAAS_BOOT_ACME_CA:-}" '^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*/?$'
    matches "FAAS_BOOT_CADDY_STORAGE" "${FAAS_BOOT_CADDY_STORAGE:-}" '^s3://[a-z0-9.-]+/[A-Za-z0-9/_-]+$'
    ;;
  off) ;;
  *)
    step="reading the TLS mode"
    echo "faas-boot: FAAS_BOOT_TLS_MODE='$tls_mode' is not self-signed, acme or off" >&2
    exit 1
    ;;
esac
step="checking the secrets"
nonempty "the worker secret" "$worker_secret"
nonempty "FAAS_ENV_KEY" "$env_key"
nonempty "the Redis AUTH token" "$redis_token"

if [[ "$tls_mode" == self-signed ]]; then
  step="writing $etc/tls"
  service_group="$(id -gn "$service_user")"
  install -d -m 0700 -o "$service_user" -g "$service_group" "$etc/tls"
  printf '%s\n' "$tls_cert" >"$etc/tls/cert.pem.tmp"
  printf '%s\n' "$tls_key" >"$etc/tls/key.pem.tmp"
  chown "$service_user:$service_group" "$etc/tls/cert.pem.tmp" "$etc/tls/key.pem.tmp"
  mv "$etc/tls/cert.pem.tmp" "$etc/tls/cert.pem"
  mv "$etc/tls/key.pem.tmp" "$etc/tls/key.pem"
  unset tls_cert tls_key
fi

step="writing $etc/$role.env"
{
  grep -v -E '^(FAAS_SSM_|FAAS_BOOT_|FAAS_ROLE=|FAAS_LOG_GROUP=|FAAS_REDIS_ENDPOINT=)' "$etc/boot.env"
  if [[ "$role" == controller ]]; then echo "FAAS_API_KEY=$api_key"; fi
  if [[ "$tls_mode" == self-signed ]]; then
    echo "FAAS_TLS_CERT_FILE=$etc/tls/cert.pem"
    echo "FAAS_TLS_KEY_FILE=$etc/tls/key.pem"
  fi
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
if [[ "$tls_mode" == acme ]]; then
  # The certificate a previous controller obtained, so that a replacement does not ask the CA again.
  step="restoring Caddy's storage from $FAAS_BOOT_CADDY_STORAGE"
  retry bash "$bin/faas-caddy-storage.sh" restore
  step="writing $caddy_etc/Caddyfile"
  {
    echo "# Written by faas-boot from user data (tls_mode = acme): Caddy gets and renews the certificate"
    echo "# of this name and proxies HTTPS to the controller's loopback port."
    echo "{"
    if [[ -n "${FAAS_BOOT_ACME_EMAIL:-}" ]]; then printf '\temail %s\n' "$FAAS_BOOT_ACME_EMAIL"; fi
    printf '\tacme_ca %s\n' "$FAAS_BOOT_ACME_CA"
    printf '\tstorage file_system %s\n' "${FAAS_CADDY_DATA:-/var/lib/caddy/.local/share/caddy}"
    echo "}"
    echo
    printf '%s {\n' "$FAAS_BOOT_TLS_DOMAIN"
    printf '\treverse_proxy 127.0.0.1:%s\n' "$FAAS_PORT"
    echo "}"
  } >"$caddy_etc/Caddyfile.tmp"
  chmod 0644 "$caddy_etc/Caddyfile.tmp"
  mv "$caddy_etc/Caddyfile.tmp" "$caddy_etc/Caddyfile"
  step="starting caddy.service"
  systemctl start caddy.service
  step="starting faas-caddy-storage.timer"
  systemctl enable --now faas-caddy-storage.timer
fi
step="starting faas-watchdog.timer"
systemctl enable --now faas-watchdog.timer
echo "faas-boot: faas-$role started, watched by faas-watchdog.timer"
