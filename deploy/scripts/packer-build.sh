#!/usr/bin/env bash
# `packer build` of deploy/packer for whichever Packer is installed.
#   Packer >= 1.7 reads required_plugins: the build runs from .faas/packer/, a folder that links the
#   template (and its files/ and scripts/) beside required-plugins/plugins.pkr.hcl, after `packer init`
#   has installed those plugins (Packer >= 1.10 bundles none).
#   Packer 1.6.6 (Debian's) has the amazon-ebs and docker builders built in and rejects a
#   required_plugins block: it builds deploy/packer itself.
# .faas/packer/../../ is the repository, as deploy/packer/../../ is, so the template's relative paths
# (.node-version, scripts/install-node.sh, the manifest) resolve the same from both.
#   usage: packer-build.sh <packer build arguments...>
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
packer_dir="$root/deploy/packer"

version="$(packer version | head -n 1 | sed -E 's/^Packer v?([0-9]+)\.([0-9]+).*/\1 \2/')"
read -r major minor <<<"$version"
if [[ -z "${major:-}" || -z "${minor:-}" ]]; then
  echo "packer-build: cannot read Packer's version from '$(packer version | head -n 1)'" >&2
  exit 1
fi
if ((major > 1 || minor >= 7)); then
  stage="$root/.faas/packer"
  rm -rf "$stage"
  mkdir -p "$stage"
  for f in faas.pkr.hcl files scripts; do ln -s "$packer_dir/$f" "$stage/$f"; done
  ln -s "$packer_dir/required-plugins/plugins.pkr.hcl" "$stage/plugins.pkr.hcl"
  echo "packer-build: Packer $major.$minor: packer init (required_plugins), then build from $stage"
  packer init "$stage"
  packer build "$@" "$stage"
else
  echo "packer-build: Packer $major.$minor has its builders built in: no packer init, no required_plugins"
  packer build "$@" "$packer_dir"
fi
