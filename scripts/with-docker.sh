#!/usr/bin/env bash
# Runs a command with a Docker engine and the offline images available. If no engine was answering
# before, the dockerd started for it is stopped afterwards (by its recorded PID), even on failure or
# Ctrl-C, so a test run leaves nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
if docker info >/dev/null 2>&1; then started_here=0; else started_here=1; fi
bash scripts/ensure-docker.sh
if [ "$started_here" = 1 ]; then trap 'bash scripts/ensure-docker.sh stop' EXIT; fi
bash scripts/build-images.sh
"$@"
