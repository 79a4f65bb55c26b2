#!/bin/sh
# Redis requires a password, as an ElastiCache auth token does: FAAS_REDIS_PASSWORD (16+ letters, digits
# or `_.~-`). It goes into a config file only this user can read (/tmp/redis-auth.conf), never onto the
# command line, where any process of the machine could read it. The rest of the command line follows.
set -eu
case "${FAAS_REDIS_PASSWORD:-}" in
  "" | *[!A-Za-z0-9_.~-]*)
    echo "redis: FAAS_REDIS_PASSWORD must be set to 16 or more letters, digits or '_.~-'" >&2
    exit 1
    ;;
esac
if [ "${#FAAS_REDIS_PASSWORD}" -lt 16 ]; then
  echo "redis: FAAS_REDIS_PASSWORD must be at least 16 characters" >&2
  exit 1
fi
umask 077
printf 'requirepass %s\n' "$FAAS_REDIS_PASSWORD" >/tmp/redis-auth.conf
unset FAAS_REDIS_PASSWORD
[ "${1:-}" = redis-server ] && shift
exec redis-server /tmp/redis-auth.conf "$@"
