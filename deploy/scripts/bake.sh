#!/usr/bin/env bash
# make bake: the application bundle, then the local images (offline, from the host's runtimes; and
# Packer's docker source when its Debian base image exists locally) and, when AWS credentials are
# present, the AMIs. Whatever cannot be built here is skipped with the reason; what was built is
# listed at the end.
#   FAAS_BASE_IMAGE  the local base image (default faas-base:bookworm)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
packer_dir="$root/deploy/packer"
bundle_dir="$root/.faas/bundle"
base_image="${FAAS_BASE_IMAGE:-faas-base:bookworm}"
built=()
skipped=()

bash "$root/deploy/scripts/bundle.sh" "$bundle_dir"
built+=("bundle $bundle_dir/faas-bundle.tar.gz")
packer_vars=(-var "bundle=$bundle_dir/faas-bundle.tar.gz")

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
    packer build -only='docker.*' "${packer_vars[@]}" -var "docker_base_image=$base_image" "$packer_dir"
    built+=("Packer images ${FAAS_NAME:-faas}-controller:latest ${FAAS_NAME:-faas}-worker:latest on $base_image")
  else
    skipped+=("Packer docker source: base image $base_image is not present locally and cannot be pulled here")
  fi
fi
has_aws_credentials() {
  [[ -n "${AWS_ACCESS_KEY_ID:-}" || -n "${AWS_PROFILE:-}" || -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ||
    -f "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]]
}
if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
  skipped+=("AMIs: AWS_ENDPOINT_URL points at a local cloud, which cannot run an AMI build")
elif ! has_aws_credentials; then
  skipped+=("AMIs: no AWS credentials in the environment")
else
  packer build -only='amazon-ebs.*' "${packer_vars[@]}" "$packer_dir"
  built+=("AMIs: see $root/.faas/packer-manifest.json")
fi

echo
echo "bake: built"
for b in "${built[@]}"; do echo "  + $b"; done
if ((${#skipped[@]})); then
  echo "bake: skipped"
  for s in "${skipped[@]}"; do echo "  - $s"; done
fi
