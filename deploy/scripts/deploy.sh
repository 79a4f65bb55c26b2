#!/usr/bin/env bash
# make deploy [TARGET=aws|local] [PROFILE=default|lean]
#   aws   (default) applies deploy/terraform with the credentials of the usual AWS environment, checked
#         first (aws sts get-caller-identity; a loud failure without them). The AMI ids are the last
#         bake's (.faas/amis.auto.tfvars.json, written by make bake from Packer's manifest), unless
#         TF_VAR_controller_ami_id and TF_VAR_worker_ami_id are set. State: a local file in
#         deploy/terraform unless you add a backend (deploy/README.md shows S3 with locking).
#   local applies the same files to the local cloud (AWS_ENDPOINT_URL, default moto on
#         http://127.0.0.1:4566, e.g. the one of a running `make dev`) from .faas/terraform-local,
#         through a generated provider override, under its own name (NAME, default faas-local: every
#         resource is prefixed with it, so nothing collides with `make dev`'s faas-*), then boots it:
#         `faas local-deploy up` runs the groups' instances as processes with the environment their
#         user data gives, and the deployment serves on its own edge, 127.0.0.1:EDGE_PORT (8081).
# PROFILE=lean applies deploy/profiles/lean.tfvars on top of the defaults (faas cost prices both).
#
# Secrets (API key, worker secret, Redis AUTH token, FAAS_ENV_KEY), TARGET=aws: the values already in
# SSM Parameter Store (/<name>/api-key, ...) are read back, so every checkout and CI run applies the
# same ones; only a parameter that does not exist yet gets a new random value; TF_VAR_<secret> wins
# over both. Terraform writes them to SSM through write-only arguments (never in the state or the plan
# file), once, or again only when secrets_version changes. Nothing is written to disk, except with
# worker_secrets_from = s3: the workers' file, mode 600, for the apply only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${TARGET:-aws}"
profile="${PROFILE:-default}"
source "$root/deploy/scripts/tf-env.sh"
source "$root/deploy/scripts/aws-identity.sh"

args=()
if [[ "$profile" != default ]]; then
  if [[ ! -f "$root/deploy/profiles/$profile.tfvars" ]]; then
    echo "deploy: no deploy/profiles/$profile.tfvars for PROFILE=$profile" >&2
    exit 1
  fi
  args+=("-var-file=$root/deploy/profiles/$profile.tfvars")
fi

case "$target" in
  local)
    endpoint="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
    name="${NAME:-faas-local}"
    if ! curl -s -o /dev/null --max-time 5 "$endpoint"; then
      echo "deploy: no local cloud answers at $endpoint: start one with \`make dev\` in another terminal (or set AWS_ENDPOINT_URL)" >&2
      exit 1
    fi
    workdir="$(bash "$root/deploy/scripts/tf-workdir.sh" "${FAAS_LOCAL_TF_DIR:-$root/.faas/terraform-local}" "$endpoint" "$name")"
    # A deployment booted before runs the previous launch templates: it stops, and boots again below.
    node "$root/bin/faas" local-deploy down --state-file "$workdir/runner.json" >/dev/null
    ;;
  aws)
    workdir="$FAAS_TF_DIR"
    faas_require_aws deploy
    amis="$root/.faas/amis.auto.tfvars.json"
    if [[ -n "${TF_VAR_controller_ami_id:-}" && -n "${TF_VAR_worker_ami_id:-}" ]]; then
      echo "deploy: AMIs from TF_VAR_controller_ami_id and TF_VAR_worker_ami_id"
    elif [[ -f "$amis" ]]; then
      args+=("-var-file=$amis")
      echo "deploy: AMIs of the last bake ($amis)"
    else
      echo "deploy: no AMI ids: run make bake (it writes $amis), or set TF_VAR_controller_ami_id and TF_VAR_worker_ami_id" >&2
      exit 1
    fi
    name="${TF_VAR_name:-faas}"
    region="${TF_VAR_region:-us-east-1}"
    # name, SSM parameter, random bytes (hex: letters and digits, safe in the rediss:// URL too).
    for spec in api_key:api-key:24 worker_secret:worker-secret:24 redis_auth_token:redis-auth-token:24 env_key:env-key:32; do
      IFS=: read -r var param bytes <<<"$spec"
      tf_var="TF_VAR_$var"
      if [[ -n "${!tf_var:-}" ]]; then continue; fi
      if value="$(aws ssm get-parameter --region "$region" --with-decryption --name "/$name/$param" \
        --query Parameter.Value --output text 2>/tmp/faas-deploy-ssm.err)"; then
        echo "deploy: $var: the value already in SSM (/$name/$param)"
      elif grep -q ParameterNotFound /tmp/faas-deploy-ssm.err; then
        value="$(od -An -N"$bytes" -tx1 /dev/urandom | tr -d ' \n')"
        echo "deploy: $var: new (/$name/$param does not exist yet)"
      else
        echo "deploy: cannot read /$name/$param from SSM: $(cat /tmp/faas-deploy-ssm.err)" >&2
        rm -f /tmp/faas-deploy-ssm.err
        exit 1
      fi
      export "$tf_var=$value"
    done
    rm -f /tmp/faas-deploy-ssm.err
    # worker_secrets_from = s3: the workers' secrets object is uploaded from this file (same path every
    # time, so an unchanged content plans no change), which lives only for the apply.
    secrets_file="$root/.faas/deploy/worker-secrets.env"
    mkdir -p "$(dirname "$secrets_file")"
    trap 'rm -f "$secrets_file"' EXIT
    (
      umask 077
      printf 'FAAS_WORKER_SECRET=%s\nFAAS_ENV_KEY=%s\nFAAS_REDIS_AUTH_TOKEN=%s\n' \
        "$TF_VAR_worker_secret" "$TF_VAR_env_key" "$TF_VAR_redis_auth_token" >"$secrets_file"
    )
    export TF_VAR_worker_secrets_file="$secrets_file"
    ;;
  *)
    echo "deploy: TARGET must be aws or local, not '$target'" >&2
    exit 1
    ;;
esac

cd "$workdir"
terraform init -input=false >/dev/null
start=$SECONDS
terraform apply -input=false -auto-approve "${args[@]}"
echo "deploy: applied to $target in $((SECONDS - start)) s"
terraform output
if [[ "$target" == local ]]; then
  start=$SECONDS
  node "$root/bin/faas" local-deploy up --detach --name "$name" --aws-endpoint "$endpoint" \
    --edge-port "${EDGE_PORT:-8081}" --state-file "$workdir/runner.json"
  echo "deploy: booted on the local cloud in $((SECONDS - start)) s"
  url="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).endpoint)' "$workdir/runner.json")"
  key="$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).apiKey)' "$workdir/runner.json")"
  echo "deploy: the deployed platform serves at $url"
  echo "deploy: try  FAAS_ENDPOINT=$url FAAS_API_KEY=$key bin/faas fn deploy examples/functions/hello --name hello"
  echo "deploy: make destroy TARGET=local stops it and removes its resources"
fi
if [[ "$target" == aws ]]; then
  echo "deploy: the API key: aws ssm get-parameter --with-decryption --name /${TF_VAR_name:-faas}/api-key --query Parameter.Value --output text"
fi
