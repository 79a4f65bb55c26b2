#!/bin/bash
# Workers with FAAS_BOOT_LOGS=s3 (no CloudWatch Logs endpoint): run by faas-log-upload.timer every
# minute, copies the worker's log files that changed to s3://<bucket>/logs/worker/<instance id>/
# through the free S3 gateway endpoint. Up to a minute of lines is lost when an instance dies; the
# bucket's lifecycle rule expires them after log_retention_days.
set -euo pipefail
etc="${FAAS_ETC:-/etc/faas}"
bin="${FAAS_BIN:-/opt/faas/bin}"
# shellcheck source=faas-health.sh
. "$bin/faas-health.sh"
set -a
# shellcheck disable=SC1091
. "$etc/boot.env"
set +a
id="$(faas_instance_id)"
aws s3 sync --region "$AWS_REGION" --only-show-errors /var/log/faas/ \
  "${FAAS_BOOT_LOGS_S3_PREFIX:?boot.env has no FAAS_BOOT_LOGS_S3_PREFIX}/$id/" \
  --exclude '*' --include "$FAAS_ROLE.log*"
