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
#
# TLS (deploy/README.md "TLS"; tls_mode, self-signed by default), both targets: the API's certificate and
# key already in SSM (/<name>/tls-cert, /<name>/tls-key) are read back, or made once (openssl, EC P-256)
# when neither exists, by deploy/tls/api-certificate.ts into a private temporary folder removed on exit;
# Terraform stores them through write-only arguments, and user data carries the SHA-256. After the apply
# this prints that fingerprint and how clients pin it (FAAS_TLS_FINGERPRINT). With tls_mode = acme or
# off the pair is made all the same and not used (which mode applies is known only after the apply).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${TARGET:-aws}"
profile="${PROFILE:-default}"
source "$root/deploy/scripts/tf-env.sh"
source "$root/deploy/scripts/aws-identity.sh"
# Files that hold a secret for the apply only: removed however this script ends.
temporary=()
trap 'rm -rf "${temporary[@]}"' EXIT

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
    region="${TF_VAR_region:-us-east-1}"
    # The local deployment is reached on its edge, 127.0.0.1 (or localhost): the certificate names those.
    tls_args=(--endpoint "$endpoint" --ip 127.0.0.1 --dns localhost)
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
    # A new certificate names the Elastic IP when it exists already (a deploy before TLS was there).
    tls_args=(--address-tag "$name-controller")
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
    temporary+=("$secrets_file")
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

# The API's certificate: from SSM, or new (see the header). mktemp -d makes a folder only this user reads.
tls_dir="$(mktemp -d)"
temporary+=("$tls_dir")
tls_line="$(node "$root/dist/deploy/tls/api-certificate.js" --name "$name" --region "$region" --out "$tls_dir" \
  "${tls_args[@]}")"
read -r tls_source tls_fingerprint <<<"$tls_line"
TF_VAR_tls_cert="$(<"$tls_dir/cert.pem")"
TF_VAR_tls_key="$(<"$tls_dir/key.pem")"
export TF_VAR_tls_cert TF_VAR_tls_key TF_VAR_tls_fingerprint="$tls_fingerprint"

cd "$workdir"
terraform init -input=false >/dev/null
start=$SECONDS
terraform apply -input=false -auto-approve "${args[@]}"
echo "deploy: applied to $target in $((SECONDS - start)) s"
terraform output
tls_mode="$(terraform output -raw tls_mode)"
if [[ "$tls_mode" == self-signed ]]; then
  # curl pins the public key instead (--pinnedpubkey checks it even with -k, which skips the name).
  spki="$(openssl x509 -in "$tls_dir/cert.pem" -noout -pubkey | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)"
  if [[ "$tls_source" == ssm ]]; then where="read back from SSM /$name/tls-cert"; else where="new, now in SSM /$name/tls-cert"; fi
  echo "deploy: TLS: the API's certificate is self-signed ($where); clients pin its SHA-256:"
  echo "deploy:   FAAS_TLS_FINGERPRINT=$tls_fingerprint"
fi
if [[ "$target" == local ]]; then
  start=$SECONDS
  node "$root/bin/faas" local-deploy up --detach --name "$name" --aws-endpoint "$endpoint" \
    --edge-port "${EDGE_PORT:-8081}" --state-file "$workdir/runner.json"
  echo "deploy: booted on the local cloud in $((SECONDS - start)) s"
  runner() { node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[process.argv[2]] ?? ""))' "$workdir/runner.json" "$1"; }
  url="$(runner endpoint)"
  key="$(runner apiKey)"
  pin=""
  if [[ "$tls_mode" == self-signed ]]; then
    # The runner pinned what the controller actually serves; it must be what was just printed.
    served="$(runner tlsFingerprint)"
    if [[ "$served" != "$tls_fingerprint" ]]; then
      echo "deploy: the deployment serves a certificate with SHA-256 $served, not $tls_fingerprint" >&2
      exit 1
    fi
    pin=" FAAS_TLS_FINGERPRINT=$tls_fingerprint"
  fi
  echo "deploy: the deployed platform serves at $url"
  echo "deploy: try  FAAS_ENDPOINT=$url FAAS_API_KEY=$key$pin bin/faas fn deploy examples/functions/hello --name hello"
  if [[ "$tls_mode" == self-signed ]]; then
    echo "deploy: or   curl -k --pinnedpubkey sha256//$spki -H \"Authorization: Bearer $key\" $url/api/functions"
  fi
  echo "deploy: make destroy TARGET=local stops it and removes its resources"
fi
if [[ "$target" == aws ]]; then
  url="$(terraform output -raw api_url)"
  key_cmd="aws ssm get-parameter --region $region --with-decryption --name /$name/api-key --query Parameter.Value --output text"
  echo "deploy: the API key: $key_cmd"
  case "$tls_mode" in
    self-signed)
      echo "deploy: try  FAAS_ENDPOINT=$url FAAS_TLS_FINGERPRINT=$tls_fingerprint FAAS_API_KEY=\$($key_cmd) bin/faas fn list"
      echo "deploy: or   curl -k --pinnedpubkey sha256//$spki -H \"Authorization: Bearer \$($key_cmd)\" $url/api/functions"
      ;;
    acme)
      echo "deploy: TLS: Caddy on the controller gets $url's certificate from the ACME CA once the name resolves to $(terraform output -raw elastic_ip) (deploy/README.md \"TLS\"); clients need no pin"
      echo "deploy: try  FAAS_ENDPOINT=$url FAAS_API_KEY=\$($key_cmd) bin/faas fn list"
      ;;
    *)
      echo "deploy: WARNING: tls_mode = off: the API at $url is plain HTTP, and the API key crosses the network in clear text" >&2
      ;;
  esac
fi
