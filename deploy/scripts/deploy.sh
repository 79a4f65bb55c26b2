#!/usr/bin/env bash
# make deploy [TARGET=aws|local]
#   aws   (default) applies deploy/terraform with the credentials of the usual AWS environment; state
#         stays in deploy/terraform (use a remote backend for a team).
#   local applies the same files to the local cloud (AWS_ENDPOINT_URL, default moto on
#         http://127.0.0.1:4566) from .faas/terraform-local, through a generated provider override.
# The secrets (API key, worker secret, Redis AUTH token, FAAS_ENV_KEY) come from TF_VAR_api_key,
# TF_VAR_worker_secret, TF_VAR_redis_auth_token, TF_VAR_env_key, or are generated once into
# .faas/deploy-secrets.env (mode 600; a file from an older deploy gets the missing ones appended).
# Terraform stores them in SSM Parameter Store, where the instances read them at boot.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${TARGET:-aws}"
source "$root/deploy/scripts/tf-env.sh"

case "$target" in
  local)
    workdir="$(bash "$root/deploy/scripts/tf-workdir.sh" "$root/.faas/terraform-local")"
    ;;
  aws)
    workdir="$FAAS_TF_DIR"
    secrets="$root/.faas/deploy-secrets.env"
    mkdir -p "$root/.faas"
    # name and random bytes (hex, so each is letters and digits: safe in the rediss:// URL too).
    for spec in api_key:24 worker_secret:24 redis_auth_token:24 env_key:32; do
      var="TF_VAR_${spec%%:*}"
      if [[ -z "${!var:-}" ]] && ! grep -q "^$var=" "$secrets" 2>/dev/null; then
        (
          umask 077
          echo "$var=$(od -An -N"${spec##*:}" -tx1 /dev/urandom | tr -d ' \n')" >>"$secrets"
        )
        echo "deploy: generated ${spec%%:*} into $secrets"
      fi
    done
    # What the environment sets wins over the file.
    if [[ -f "$secrets" ]]; then
      chmod 600 "$secrets"
      while IFS='=' read -r var value; do
        if [[ "$var" == TF_VAR_* && -z "${!var:-}" ]]; then export "$var=$value"; fi
      done <"$secrets"
    fi
    ;;
  *)
    echo "deploy: TARGET must be aws or local, not '$target'" >&2
    exit 1
    ;;
esac

cd "$workdir"
terraform init -input=false >/dev/null
start=$SECONDS
terraform apply -input=false -auto-approve
echo "deploy: applied to $target in $((SECONDS - start)) s"
terraform output
