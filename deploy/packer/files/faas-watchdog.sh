#!/bin/bash
# Run by faas-watchdog.timer every 15 s once faas-boot has started the service. EC2's status checks
# see only the instance; this sees the service. A probe fails when
#   - the controller does not answer GET /healthz on 127.0.0.1 within 5 s (a hung event loop too), on its
#     private listener (FAAS_PRIVATE_PORT), which stays plain HTTP whatever the public API's TLS, or
#   - with tls_mode = acme, Caddy, the API's only way in, is not active, or
#   - the worker's unit is not active (the worker has no HTTP port; a worker hung while its process
#     lives is not seen here: that needs the worker to ping systemd's watchdog, deploy/README.md), or
#   - the unit restarted since the previous probe (a crash loop, e.g. on a bad setting).
# After FAAS_WATCHDOG_FAILURES (default 4, about a minute) failed probes in a row the instance takes
# itself out of service (faas-health.sh) and the group replaces it; one good probe resets the count.
# FAAS_ETC, FAAS_BIN and FAAS_RUN can be moved for tests; the commands are the real ones.
set -euo pipefail
etc="${FAAS_ETC:-/etc/faas}"
bin="${FAAS_BIN:-/opt/faas/bin}"
state="${FAAS_RUN:-/run/faas}/watchdog"
limit="${FAAS_WATCHDOG_FAILURES:-4}"
# shellcheck source=faas-health.sh
. "$bin/faas-health.sh"
set -a
# shellcheck disable=SC1091
. "$etc/boot.env"
set +a
role="$FAAS_ROLE"
unit="faas-$role.service"
mkdir -p "$state"
if [[ -f "$state/out-of-service" ]]; then exit 0; fi

failure=""
restarts="$(systemctl show -p NRestarts --value "$unit")"
previous="$(cat "$state/restarts" 2>/dev/null || echo "$restarts")"
echo "$restarts" >"$state/restarts"
if ((restarts > previous)); then failure="$unit restarted $((restarts - previous)) time(s) since the last probe"; fi
if [[ "$role" == controller ]]; then
  if ! curl -fsS -m 5 -o /dev/null "http://127.0.0.1:${FAAS_PRIVATE_PORT:-${FAAS_PORT:-8080}}/healthz"; then
    failure="${failure:+$failure; }GET /healthz did not answer 2xx within 5 s"
  fi
  if [[ "${FAAS_BOOT_TLS_MODE:-off}" == acme ]] && ! systemctl is-active --quiet caddy.service; then
    failure="${failure:+$failure; }caddy.service is not active"
  fi
elif ! systemctl is-active --quiet "$unit"; then
  failure="${failure:+$failure; }$unit is not active"
fi

if [[ -z "$failure" ]]; then
  echo 0 >"$state/failures"
  exit 0
fi
failures=$(($(cat "$state/failures" 2>/dev/null || echo 0) + 1))
echo "$failures" >"$state/failures"
echo "faas-watchdog: probe $failures of $limit failed: $failure" >&2
if ((failures >= limit)); then
  touch "$state/out-of-service"
  faas_mark_unhealthy "watchdog: $failures probes in a row failed ($failure)"
fi
