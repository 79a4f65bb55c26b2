#!/usr/bin/env bash
# make deploy [TARGET=aws|local]
#   aws   (default) applies deploy/terraform with the credentials of the usual AWS environment; state
#         stays in deploy/terraform (use a remote backend for a team).
#   local applies the same files to the local cloud (AWS_ENDPOINT_URL, default moto on
#         http://127.0.0.1:4566) from .faas/terraform-local, through a generated provider override.
# The API key and worker secret come from TF_VAR_api_key / TF_VAR_worker_secret, or are generated
# once into .faas/deploy-secrets.env (mode 600); Terraform stores them in SSM Parameter Store.
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
    if [[ -z "${TF_VAR_api_key:-}" || -z "${TF_VAR_worker_secret:-}" ]]; then
      if [[ ! -f "$secrets" ]]; then
        mkdir -p "$root/.faas"
        (
          umask 077
          echo "TF_VAR_api_key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
          echo "TF_VAR_worker_secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
        ) >"$secrets"
        echo "deploy: generated the API key and worker secret into $secrets"
      fi
      set -a
      # shellcheck disable=SC1090
      . "$secrets"
      set +a
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
