# shellcheck shell=bash
# Sourced by bake.sh, bake-clean.sh and deploy.sh before anything touches AWS: the credentials the AWS
# CLI resolves (environment, SSO or config profiles, instance roles alike) must work, or the command
# stops here, loudly, with how to fix it. Never skipped with exit 0.
faas_require_aws() {
  local what="$1" identity
  if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
    echo "$what: AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL points at a local cloud, not AWS: unset it, or use TARGET=local" >&2
    return 1
  fi
  if ! command -v aws >/dev/null 2>&1; then
    echo "$what: the AWS CLI is missing (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)" >&2
    return 1
  fi
  if ! identity="$(aws sts get-caller-identity --query Arn --output text 2>&1)"; then
    echo "$what: no usable AWS credentials (aws sts get-caller-identity: ${identity//$'\n'/ })." >&2
    echo "$what: configure them (aws configure, aws sso login --profile P with AWS_PROFILE=P, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or use TARGET=local" >&2
    return 1
  fi
  echo "$what: AWS identity $identity"
}
