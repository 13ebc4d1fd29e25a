#!/usr/bin/env bash
# Tokenizer speed vs tiktoken's native Rust core (npm tiktoken-rs-node-linux-x64-gnu, through
# ../shared/peers/tok_native.cjs) on the King James text, cl100k_base and o200k_base.
# Both sides time the encoding alone, best of three runs, in the same run of this script; the
# token counts must agree. Also prints rotor's whole-process time (loading and output included).
# Usage: bench/tokenize_bench.sh [BUILD_DIR]   (needs bible-kjv, node and the peers' npm packages)
set -euo pipefail
build=${1:-build}
rotor=$build/bin/rotor
peers=${ROTOR_PEERS_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/peers}
export NODE_PATH=${NODE_PATH:-/tmp/rotor-peers-npm/node_modules}
text=$(mktemp --suffix=.txt)
trap 'rm -f "$text"' EXIT
bible "gen1:1-rev22:21" > "$text"
for enc in cl100k_base o200k_base; do
  peer=$(node "$peers/tok_native.cjs" "$text" "$enc")
  peer_mbs=$(sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p' <<<"$peer")
  peer_tokens=$(sed -n 's/.*tokens=\([0-9]*\).*/\1/p' <<<"$peer")
  echo "$peer"
  for threads in 1 2; do
    line=$("$rotor" tokenize --encoding "$enc" --threads "$threads" --time --count < "$text" 2>&1 >/dev/null)
    mbs=$(sed -n 's/.*MB\/s=\([0-9.]*\).*/\1/p' <<<"$line")
    tokens=$("$rotor" tokenize --encoding "$enc" --threads "$threads" --count < "$text")
    start=$(date +%s%N)
    "$rotor" tokenize --encoding "$enc" --threads "$threads" < "$text" > /dev/null
    wall=$(( ($(date +%s%N) - start) / 1000000 ))
    same=$([ "$tokens" = "$peer_tokens" ] && echo true || echo false)
    ratio=$(awk -v a="$mbs" -v b="$peer_mbs" 'BEGIN { printf "%.1f", a / b }')
    echo "rotor $enc threads=$threads tokens=$tokens same_count=$same MB/s=$mbs ratio_vs_tiktoken_native=${ratio}x whole_process_ms=$wall"
  done
done
