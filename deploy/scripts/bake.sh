#!/usr/bin/env bash
# make bake: the application bundle, then the local images (Packer's docker source, offline: the base
# image must already exist locally) and, when AWS credentials are present, the AMIs. Whatever cannot
# be built here is skipped with the reason; what was built is listed at the end.
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
  skipped+=("local images: docker is not installed")
elif ! docker info >/dev/null 2>&1; then
  skipped+=("local images: no Docker engine is running (start dockerd)")
elif ! docker image inspect "$base_image" >/dev/null 2>&1; then
  skipped+=("local images: base image $base_image is not present locally and cannot be pulled here")
else
  packer build -only='docker.*' "${packer_vars[@]}" -var "docker_base_image=$base_image" "$packer_dir"
  built+=("images ${FAAS_NAME:-faas}-controller:latest ${FAAS_NAME:-faas}-worker:latest")
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
