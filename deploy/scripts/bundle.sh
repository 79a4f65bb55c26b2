#!/usr/bin/env bash
# Builds the application bundle: dist/ + package.json + package-lock.json + production node_modules,
# as <out>/faas-bundle.tar.gz. Works on a staging copy; the repository's own node_modules is never
# touched. `npm ci --omit=dev` needs the npm registry (or a warm npm cache).
#   usage: bundle.sh [out-dir]   (default .faas/bundle)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$(mkdir -p "${1:-$root/.faas/bundle}" && cd "${1:-$root/.faas/bundle}" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

(cd "$root" && npm run --silent build)
cp -R "$root/dist" "$stage/dist"
rm -rf "$stage/dist/test" "$stage/dist/.tsbuildinfo"
find "$stage/dist" -name '*.map' -delete
cp "$root/package.json" "$root/package-lock.json" "$stage/"
(cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
tar -C "$stage" -czf "$out/faas-bundle.tar.gz" dist package.json package-lock.json node_modules
echo "bundle: $out/faas-bundle.tar.gz ($(du -h "$out/faas-bundle.tar.gz" | cut -f1))"
