# shellcheck shell=bash
# Sourced by the deploy scripts and the tests: gives Terraform a CLI configuration that installs the
# AWS provider from a local filesystem mirror when this machine has one (no registry is reachable
# here), and the default registry otherwise. Nothing is hard-coded to one checkout's path.
#   TF_PROVIDER_MIRROR  the mirror root (the folder above registry.terraform.io), if known.
FAAS_TF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../terraform" && pwd)"
export FAAS_TF_DIR

faas_find_mirror() {
  local candidate found
  for candidate in "${TF_PROVIDER_MIRROR:-}" /opt/tf-plugins "$HOME/.terraform.d/plugins" \
    /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
    if [[ -n "$candidate" && -d "$candidate/registry.terraform.io/hashicorp/aws" ]]; then
      echo "$candidate"
      return 0
    fi
  done
  found="$(find / -xdev -name 'terraform-provider-aws_*' -not -path '/proc/*' 2>/dev/null | head -n 1)"
  if [[ -n "$found" ]]; then
    # .../<root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*
    local dir="${found%/*}"
    while [[ "$dir" != "/" && "$(basename "$dir")" != "registry.terraform.io" ]]; do dir="$(dirname "$dir")"; done
    if [[ "$dir" != "/" ]]; then
      dirname "$dir"
      return 0
    fi
  fi
  return 1
}

if mirror="$(faas_find_mirror)"; then
  mkdir -p "$FAAS_TF_DIR/.terraform"
  # Written aside and renamed into place: a Terraform started meanwhile by another script or test
  # (the deploy suite runs two files at a time) reads the old file or the new one, never a half one.
  rc_tmp="$(mktemp "$FAAS_TF_DIR/.terraform/terraformrc.hcl.XXXXXX")"
  sed "s#@MIRROR@#$mirror#" "$FAAS_TF_DIR/terraformrc.hcl.tpl" >"$rc_tmp"
  chmod 644 "$rc_tmp"
  mv -f "$rc_tmp" "$FAAS_TF_DIR/.terraform/terraformrc.hcl"
  unset rc_tmp
  export TF_CLI_CONFIG_FILE="$FAAS_TF_DIR/.terraform/terraformrc.hcl"
elif [[ -n "${TF_CLI_CONFIG_FILE:-}" && ! -f "$TF_CLI_CONFIG_FILE" ]]; then
  unset TF_CLI_CONFIG_FILE
fi
unset mirror
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
