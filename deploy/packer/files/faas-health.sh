# shellcheck shell=bash
# Sourced by faas-boot and faas-watchdog: how an instance takes itself out of service when it cannot do
# its job, so that its Auto Scaling group replaces it instead of keeping a broken instance that EC2's
# own status checks call healthy.
#   1. autoscaling:SetInstanceHealth Unhealthy on its own group (FAAS_BOOT_ASG_NAME; the role may do
#      this on its group only). The controller reaches the Auto Scaling API over its internet gateway.
#   2. When that call cannot be made (workers: no route out of the private subnets and no Auto Scaling
#      endpoint, which would cost $7.30 a month per AZ), it powers off: the launch templates set
#      instance_initiated_shutdown_behavior = terminate, so the instance terminates and the group
#      launches a replacement.
# Paths and the metadata address can be moved for tests (FAAS_IMDS); the commands are the real ones.
: "${FAAS_IMDS:=http://169.254.169.254}"

faas_instance_id() {
  local token
  token="$(curl -fsS -m 2 -X PUT "$FAAS_IMDS/latest/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')" || return 1
  curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" "$FAAS_IMDS/latest/meta-data/instance-id"
}

faas_mark_unhealthy() {
  local reason="$1" id=""
  echo "faas-health: taking this instance out of service: $reason" >&2
  if [[ -n "${FAAS_BOOT_ASG_NAME:-}" ]] && id="$(faas_instance_id)" && [[ -n "$id" ]] &&
    AWS_MAX_ATTEMPTS=2 aws autoscaling set-instance-health --region "${AWS_REGION:-}" \
      --instance-id "$id" --health-status Unhealthy --no-should-respect-grace-period \
      --cli-connect-timeout 5 --cli-read-timeout 10; then
    echo "faas-health: $id is Unhealthy in $FAAS_BOOT_ASG_NAME; the group replaces it" >&2
    return 0
  fi
  echo "faas-health: SetInstanceHealth failed${id:+ for $id}; powering off (the instance terminates and is replaced)" >&2
  systemctl poweroff --no-block
}
