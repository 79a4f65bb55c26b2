#!/usr/bin/env bash
# make destroy [TARGET=aws|local]: removes what deploy.sh applied. Locally, first stops the deployment's
# instances and its Redis (`faas local-deploy down`), then destroys its resources in the emulator.
# On the local cloud, moto's ElastiCache never finishes deleting (seen with moto 5): a replication
# group stays "deleting" forever. The replication group, the stand-in member cluster tf-workdir.sh adds
# for moto, and the subnet group are dropped from the state; `faas local-deploy down` deletes the first
# two in the emulator (the group then stays listed as "deleting" while moto runs; moto cannot delete a
# cache subnet group at all, so that one lives as long as the emulator). AWS deletes them normally.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${TARGET:-aws}"
source "$root/deploy/scripts/tf-env.sh"

case "$target" in
  local) workdir="${FAAS_LOCAL_TF_DIR:-$root/.faas/terraform-local}" ;;
  aws)
    workdir="$FAAS_TF_DIR"
    source "$root/deploy/scripts/aws-identity.sh"
    faas_require_aws destroy
    # Destroy needs values for the required variables, never their real content: the secrets are only
    # written (write-only) and the AMIs only referenced.
    placeholder="destroy-placeholder-000000000000000000000000"
    for var in api_key worker_secret redis_auth_token env_key; do
      tf_var="TF_VAR_$var"
      export "$tf_var=${!tf_var:-$placeholder}"
    done
    export TF_VAR_controller_ami_id="${TF_VAR_controller_ami_id:-ami-00000000000000000}"
    export TF_VAR_worker_ami_id="${TF_VAR_worker_ami_id:-ami-00000000000000000}"
    ;;
  *)
    echo "destroy: TARGET must be aws or local, not '$target'" >&2
    exit 1
    ;;
esac
# tls_mode = self-signed (the default) validates the certificate variables on every plan, destroy's too:
# placeholders of the right shape do, and nothing is written with them.
export TF_VAR_tls_cert="${TF_VAR_tls_cert:-$'-----BEGIN CERTIFICATE-----\ndestroy-placeholder\n-----END CERTIFICATE-----'}"
export TF_VAR_tls_key="${TF_VAR_tls_key:-$'-----BEGIN PRIVATE KEY-----\ndestroy-placeholder\n-----END PRIVATE KEY-----'}"
export TF_VAR_tls_fingerprint="${TF_VAR_tls_fingerprint:-$(printf '00:%.0s' {1..31})00}"
if [[ ! -d "$workdir/.terraform" ]]; then
  echo "destroy: nothing deployed to $target ($workdir has no Terraform state)"
  exit 0
fi

cd "$workdir"
if [[ "$target" == local ]]; then
  # The booted deployment first: its instances stop before their resources go. Then the ElastiCache
  # records, deleted in the emulator directly (moto never finishes deleting them; see the header).
  name="$(sed -n 's/^name = "\(.*\)"$/\1/p' localcloud.auto.tfvars)"
  endpoint="$(sed -n 's/^ *ec2 *= "\(.*\)"$/\1/p' localcloud_override.tf)"
  node "$root/bin/faas" local-deploy down --state-file "$workdir/runner.json" --name "${name:-faas}" \
    --aws-endpoint "$endpoint"
  # The list is read first: `terraform state list | grep -q` under pipefail fails whenever grep exits
  # before terraform has written everything (SIGPIPE), and the group would stay in the state: then the
  # destroy waits forever for moto to finish deleting it.
  listed="$(terraform state list)"
  for r in aws_elasticache_replication_group.redis aws_elasticache_cluster.localcloud_member \
    aws_elasticache_subnet_group.redis; do
    if grep -qx "$r" <<<"$listed"; then terraform state rm "$r" >/dev/null; fi
  done
fi
start=$SECONDS
# The local state is the truth there; refreshing every resource against moto takes about a minute.
refresh=()
if [[ "$target" == local ]]; then refresh=(-refresh=false); fi
terraform destroy "${refresh[@]}" -input=false -auto-approve
echo "destroy: removed from $target in $((SECONDS - start)) s"
