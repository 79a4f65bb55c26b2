#!/usr/bin/env bash
# make bake [TARGET=aws|local] [PROFILE=default|lean]: the application bundle, the local images
# (offline, from the host's runtimes; and Packer's docker source when its Debian base image exists
# locally), then for TARGET=aws (the default, as for make deploy) the AMIs:
#   - AWS credentials checked first (aws sts get-caller-identity): without them the bake fails, loudly;
#   - Packer >= 1.7 installs its plugins (packer init), 1.6.6 uses its built-in builders
#     (packer-build.sh);
#   - the AMI ids of this run go from Packer's manifest to .faas/amis.auto.tfvars.json, which make
#     deploy applies.
# PROFILE=lean bakes the controller for arm64 (deploy/profiles/lean.pkrvars.hcl), as its t4g.micro needs.
#   FAAS_BASE_IMAGE  the local base image (default faas-base:bookworm)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${TARGET:-aws}"
profile="${PROFILE:-default}"
bundle_dir="$root/.faas/bundle"
base_image="${FAAS_BASE_IMAGE:-faas-base:bookworm}"
region="${TF_VAR_region:-${AWS_REGION:-us-east-1}}"
built=()
skipped=()
source "$root/deploy/scripts/aws-identity.sh"

case "$target" in
  aws) faas_require_aws bake ;; # before the long part, not after it
  local) ;;
  *)
    echo "bake: TARGET must be aws or local, not '$target'" >&2
    exit 1
    ;;
esac
packer_vars=()
if [[ "$profile" != default ]]; then
  pkrvars="$root/deploy/profiles/$profile.pkrvars.hcl"
  if [[ ! -f "$pkrvars" ]]; then
    echo "bake: no $pkrvars for PROFILE=$profile" >&2
    exit 1
  fi
  packer_vars+=(-var-file "$pkrvars")
fi

bash "$root/deploy/scripts/bundle.sh" "$bundle_dir"
built+=("bundle $bundle_dir/faas-bundle.tar.gz")
packer_vars+=(-var "bundle=$bundle_dir/faas-bundle.tar.gz")

if ! command -v docker >/dev/null 2>&1; then
  skipped+=("local images: docker is not installed (scripts/ensure-docker.sh installs and starts it)")
elif ! docker info >/dev/null 2>&1; then
  skipped+=("local images: no Docker engine is running (scripts/ensure-docker.sh starts one)")
else
  # The offline path: the same application on a base image made from the pinned Node.js (.node-version)
  # and this host's libraries, so nothing is pulled (scripts/build-images.sh, docs/docker.md).
  bash "$root/scripts/build-images.sh"
  built+=("offline images faas/controller:local faas/worker:local faas/redis:local faas/aws:local")
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    # Packer's docker source needs a Debian base with apt (an official image, where a registry is reachable).
    bash "$root/deploy/scripts/packer-build.sh" -only='docker.*' "${packer_vars[@]}" -var "docker_base_image=$base_image"
    built+=("Packer images ${FAAS_NAME:-faas}-controller:latest ${FAAS_NAME:-faas}-worker:latest on $base_image")
  else
    skipped+=("Packer docker source: base image $base_image is not present locally and cannot be pulled here")
  fi
fi

if [[ "$target" == aws ]]; then
  bash "$root/deploy/scripts/packer-build.sh" -only='amazon-ebs.*' "${packer_vars[@]}" -var "region=$region"
  node "$root/dist/deploy/bake/manifest.js" "$root/.faas/packer-manifest.json" "$region" \
    "$root/.faas/amis.auto.tfvars.json"
  built+=("AMIs in $region: $root/.faas/amis.auto.tfvars.json (make deploy applies them)")
else
  skipped+=("AMIs: TARGET=local (make bake builds them for AWS)")
fi

echo
echo "bake: built"
for b in "${built[@]}"; do echo "  + $b"; done
if ((${#skipped[@]})); then
  echo "bake: skipped"
  for s in "${skipped[@]}"; do echo "  - $s"; done
fi
