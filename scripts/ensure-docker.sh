#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, or says exactly why it cannot.
#
#   scripts/ensure-docker.sh          install docker.io + docker-compose from Debian when missing, start
#                                     dockerd in the background when no engine answers, wait for `docker info`
#   scripts/ensure-docker.sh stop     stop the dockerd this script started (by the PID it recorded), nothing else
#   scripts/ensure-docker.sh status   say whether an engine answers and whether this script started it
#
# An engine that was already running is used as it is and never stopped. The dockerd started here writes
# its PID to $FAAS_DOCKERD_PIDFILE (default /run/faas-dockerd.pid) and its log to $FAAS_DOCKERD_LOG.
# Measured on a fresh 2-core bookworm machine: apt install of docker.io + docker-compose ~40 s, dockerd
# ready ~2 s after start (docs/docker.md).
set -euo pipefail
cd "$(dirname "$0")/.."

PIDFILE=${FAAS_DOCKERD_PIDFILE:-/run/faas-dockerd.pid}
LOG=${FAAS_DOCKERD_LOG:-/var/log/faas-dockerd.log}
WAIT_S=${FAAS_DOCKERD_WAIT_S:-60}

say() { printf 'docker: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
engine_answers() { docker info >/dev/null 2>&1; }
our_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  # Only a live dockerd with the recorded PID counts: a stale file or a reused PID is not ours.
  [ -n "$pid" ] && [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = dockerd ] && echo "$pid"
}

apt_install() {
  say "installing $* from Debian's packages"
  if [ ! -f /tmp/.faas-apt-updated ]; then as_root apt-get -o DPkg::Lock::Timeout=300 update -qq && touch /tmp/.faas-apt-updated; fi
  # No init system here starts services; where one does, the package's own dockerd is fine to use.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

install_missing() {
  local want=()
  command -v dockerd >/dev/null || want+=(docker.io)
  command -v docker-compose >/dev/null || want+=(docker-compose)
  # tini-static is the images' PID 1 (images/base/build-base.sh); docker.io depends on tini already.
  [ -x /usr/bin/tini-static ] || want+=(tini)
  if [ "${#want[@]}" -gt 0 ]; then
    local started=$SECONDS
    apt_install "${want[@]}" || {
      say "could not install ${want[*]}: run \`apt-get install -y ${want[*]}\` as root"
      exit 1
    }
    say "installed ${want[*]} in $((SECONDS - started)) s"
  fi
}

start() {
  if engine_answers; then
    say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    return 0
  fi
  install_missing
  if engine_answers; then return 0; fi # the package's own service came up
  if [ -n "$(our_pid || true)" ]; then
    say "dockerd $(our_pid) (started earlier by this script) is not answering yet"
  else
    [ "$(id -u)" = 0 ] || { say "no engine answers and starting dockerd needs root: run \`sudo $0\`"; exit 1; }
    say "starting dockerd in the background (log: $LOG)"
    mkdir -p "$(dirname "$PIDFILE")" "$(dirname "$LOG")"
    # setsid: dockerd and its containerd outlive this shell and are stopped only through `stop`.
    setsid dockerd --host unix:///var/run/docker.sock >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  local started=$SECONDS
  until engine_answers; do
    if [ -z "$(our_pid || true)" ]; then
      say "dockerd exited during start; the end of $LOG:"
      tail -n 20 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if [ $((SECONDS - started)) -ge "$WAIT_S" ]; then
      say "dockerd did not answer within ${WAIT_S} s; see $LOG"
      exit 1
    fi
    sleep 0.2
  done
  say "engine $(docker version --format '{{.Server.Version}}') answers after $((SECONDS - started)) s (dockerd PID $(cat "$PIDFILE"))"
}

stop() {
  local pid
  pid=$(our_pid || true)
  if [ -z "$pid" ]; then
    rm -f "$PIDFILE"
    say "no dockerd started by this script is running; nothing stopped"
    return 0
  fi
  say "stopping dockerd $pid"
  kill -TERM "$pid"
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd $pid did not stop within 30 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  rm -f "$PIDFILE"
}

status() {
  if engine_answers; then say "engine answers"; else say "no engine answers"; fi
  local pid; pid=$(our_pid || true)
  if [ -n "$pid" ]; then say "dockerd $pid was started by this script"; else say "this script started no running dockerd"; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) say "usage: $0 [start|stop|status]"; exit 2 ;;
esac
