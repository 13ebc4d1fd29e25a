#!/usr/bin/env bash
# Runs every benchmark script in bench/ against the build directory given (default: build).
set -euo pipefail
build=${1:-build}
for script in "$(dirname "$0")"/*_bench.sh; do
  echo "== $(basename "$script")"
  bash "$script" "$build"
done
