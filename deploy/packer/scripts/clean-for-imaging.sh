#!/bin/sh
# AMI builds only: forget this build instance so cloud-init treats every instance launched from the
# image as new and runs its user data (which is where the instance learns its settings).
set -eu
[ "$(id -u)" = 0 ] || exec sudo -E sh "$0" "$@"
rm -f /etc/faas/*.env /tmp/faas-bundle.tar.gz
rm -rf /tmp/faas-files
# --machine-id arrived in cloud-init 23; older images get the same effect by hand.
if ! cloud-init clean --logs --machine-id 2>/dev/null; then
  cloud-init clean --logs
  truncate -s 0 /etc/machine-id
fi
echo "faas: cloud-init state, logs and machine id cleared for imaging"
