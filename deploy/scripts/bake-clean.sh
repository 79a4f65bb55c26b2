#!/usr/bin/env bash
# make bake-clean [KEEP=2] [DRY_RUN=1] [TARGET=aws|local]: every bake leaves two AMIs and their EBS snapshots
# (about $0.05 per GB-month of snapshot). This deregisters this platform's AMIs (owner self, tag
# Project=<name>) except, per role, the KEEP newest and the ones make deploy applies
# (.faas/amis.auto.tfvars.json), and deletes their snapshots. DRY_RUN=1 lists what it would remove.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
name="${TF_VAR_name:-faas}"
keep="${KEEP:-2}"
dry_run="${DRY_RUN:-0}"
source "$root/deploy/scripts/aws-identity.sh"
# TARGET=local cleans the local cloud's images (AWS_ENDPOINT_URL), as the tests do.
if [[ "${TARGET:-aws}" != local ]]; then faas_require_aws bake-clean; fi
if ! [[ "$keep" =~ ^[0-9]+$ ]]; then
  echo "bake-clean: KEEP must be a number, not '$keep'" >&2
  exit 1
fi

amis_file="${AMIS_FILE:-$root/.faas/amis.auto.tfvars.json}"
in_use=""
if [[ -f "$amis_file" ]]; then
  in_use="$(grep -oE 'ami-[0-9a-f]+' "$amis_file" | tr '\n' ' ')"
fi
# One line per image: role, creation date, id, snapshot ids (comma-separated).
images="$(aws ec2 describe-images --owners self --filters "Name=tag:Project,Values=$name" \
  --query 'Images[].[Tags[?Key==`Role`]|[0].Value, CreationDate, ImageId, join(`,`, BlockDeviceMappings[].Ebs.SnapshotId)]' \
  --output text)"
removed=0
kept=0
for role in controller worker; do
  n=0
  while IFS=$'\t' read -r _ _ id snapshots; do
    [[ -n "${id:-}" ]] || continue
    n=$((n + 1))
    if ((n <= keep)) || [[ " $in_use " == *" $id "* ]]; then
      kept=$((kept + 1))
      echo "bake-clean: keep   $role $id"
      continue
    fi
    echo "bake-clean: remove $role $id (snapshots ${snapshots:-none})"
    removed=$((removed + 1))
    if [[ "$dry_run" == 1 ]]; then continue; fi
    aws ec2 deregister-image --image-id "$id"
    for snapshot in ${snapshots//,/ }; do
      if [[ "$snapshot" != None ]]; then aws ec2 delete-snapshot --snapshot-id "$snapshot"; fi
    done
  done < <(awk -F'\t' -v r="$role" '$1 == r' <<<"$images" | sort -t$'\t' -k2,2r)
done
echo "bake-clean: kept $kept, $([[ "$dry_run" == 1 ]] && echo "would remove" || echo "removed") $removed"
