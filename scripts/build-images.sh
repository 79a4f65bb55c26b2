#!/usr/bin/env bash
# Builds the platform's images (what `make images` runs). Offline by default: every root comes from
# this host, so nothing is pulled (no registry is reachable here).
#
#   scripts/build-images.sh            faas/node-base, faas/controller, faas/worker, faas/redis, faas/aws
#   scripts/build-images.sh clean      remove every image labelled faas.project=faas-platform
#
#   BASE_IMAGE=node:24-bookworm-slim   build controller and worker on the official base instead of the
#                                      offline one (needs a registry; its Node 24 is the image's, not
#                                      the pinned one); redis and aws stay offline builds
#   FAAS_IMAGE_TAG=local               tag of every image
#   FAAS_IMAGES="controller worker"    build only these (node-base is built when they need it)
#
# The application bundle is the one Packer bakes into the AMIs: dist/{contracts,services,emulator},
# package.json and production node_modules (`npm ci --omit=dev` in a staging copy, cached by the
# lockfile's hash under .faas/image-cache). The worker adds the sandbox tools (images/worker/build-rootfs.sh:
# Debian's bubblewrap, installed on this host with apt when missing, setpriv, dash, mount, unshare).
# The classic builder only: no buildx, no RUN steps.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOCKER_BUILDKIT=0

TAG=${FAAS_IMAGE_TAG:-local}
OFFLINE_BASE=faas/node-base:$TAG
BASE_IMAGE=${BASE_IMAGE:-$OFFLINE_BASE}
WANT=${FAAS_IMAGES:-node-base controller worker redis aws}
LABELS=(--label faas.project=faas-platform --label "faas.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")

say() { printf 'images: %s\n' "$*" >&2; }
# The pinned Node.js first on PATH when it is installed, as in the Makefile: tsc and npm ci below run on it.
PATH="$(sh scripts/install-node.sh --dir)/bin:$PATH"

if [ "${1:-}" = clean ]; then
  ids=$(docker images -q --filter label=faas.project=faas-platform | sort -u)
  [ -z "$ids" ] || docker rmi -f $ids >/dev/null
  say "removed $(echo "$ids" | grep -c . || true) images"
  exit 0
fi

docker info >/dev/null 2>&1 || { say "no Docker engine answers: run scripts/ensure-docker.sh"; exit 1; }
STAGE=$(mktemp -d /tmp/faas-images.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT

# The CLI warns that the classic builder is deprecated on every build; the engine here has no other.
docker_build() {
  local out
  if ! out=$(docker build -q "${LABELS[@]}" "$@" 2>&1); then
    printf '%s\n' "$out" | grep -v -e '^DEPRECATED' -e 'BuildKit is currently disabled' -e 'environment-variable' >&2
    return 1
  fi
}

build() { # build <name> <context> [docker build args...]
  local name=$1 context=$2 started=$SECONDS
  shift 2
  docker_build -t "faas/$name:$TAG" -f "images/$name/Dockerfile" "$@" "$context"
  say "faas/$name:$TAG $(docker image inspect -f '{{.Size}}' "faas/$name:$TAG" | awk '{printf "%.0f MB", $1/1e6}') in $((SECONDS - started)) s"
}

wants() { [[ " $WANT " == *" $1 "* ]]; }

bundle() { # the application bundle, staged once per run
  [ -d "$STAGE/app/bundle" ] && return 0
  if [ ! -f dist/services/controller/main.js ] || [ ! -f dist/emulator/docker/edge-main.js ]; then
    say "compiling TypeScript (dist/ is missing or stale)"
    npx tsc -p tsconfig.json
  fi
  local hash cache
  hash=$(sha256sum package-lock.json | cut -c1-16)
  cache=.faas/image-cache/node_modules-$hash
  if [ ! -d "$cache/node_modules" ]; then
    say "installing production dependencies (npm ci --omit=dev) into $cache"
    rm -rf "$cache" && mkdir -p "$cache"
    cp package.json package-lock.json "$cache/"
    (cd "$cache" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  fi
  mkdir -p "$STAGE/app/bundle/dist"
  cp -a "$cache/node_modules" "$STAGE/app/bundle/"
  cp package.json "$STAGE/app/bundle/"
  cp -a dist/contracts dist/services dist/emulator "$STAGE/app/bundle/dist/"
  find "$STAGE/app/bundle/dist" -name '*.map' -delete
  cp /usr/bin/tini-static "$STAGE/app/tini" 2>/dev/null || {
    say "/usr/bin/tini-static is missing: apt-get install -y tini"
    exit 1
  }
}

# The worker's sandbox is bubblewrap from Debian's package, taken from this host like every other binary.
if wants worker && ! command -v bwrap >/dev/null; then
  say "installing bubblewrap from Debian's packages (the worker's sandbox)"
  if [ ! -f /tmp/.faas-apt-updated ]; then apt-get -o DPkg::Lock::Timeout=300 update -qq && touch /tmp/.faas-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends bubblewrap >/dev/null ||
    { say "could not install bubblewrap: run \`apt-get install -y bubblewrap\` as root"; exit 1; }
fi

if [ "$BASE_IMAGE" = "$OFFLINE_BASE" ] && { wants node-base || wants controller || wants worker; }; then
  # The offline base carries the platform's pinned Node.js (.node-version), whatever node this host runs.
  sh scripts/install-node.sh
  mkdir -p "$STAGE/node-base"
  bash images/base/build-rootfs.sh "$STAGE/node-base/rootfs"
  docker_build -t "$OFFLINE_BASE" -f images/base/Dockerfile "$STAGE/node-base"
  say "$OFFLINE_BASE $(docker image inspect -f '{{.Size}}' "$OFFLINE_BASE" | awk '{printf "%.0f MB", $1/1e6}')"
fi
for role in controller worker; do
  if wants "$role"; then
    bundle
    if [ "$role" = worker ]; then
      rm -rf "$STAGE/app/worker-root"
      bash images/worker/build-rootfs.sh "$STAGE/app/worker-root"
    fi
    build "$role" "$STAGE/app" --build-arg "BASE_IMAGE=$BASE_IMAGE"
  fi
done
for name in redis aws; do
  if wants "$name"; then
    mkdir -p "$STAGE/$name"
    bash "images/$name/build-rootfs.sh" "$STAGE/$name/rootfs"
    build "$name" "$STAGE/$name"
  fi
done
# Rebuilds leave the previous images untagged; drop those of this project only.
docker image prune -f --filter label=faas.project=faas-platform >/dev/null
