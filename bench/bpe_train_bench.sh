#!/usr/bin/env bash
# BPE training speed vs sentencepiece (Debian `spm_train --model_type=bpe`) on the King James text,
# same vocabulary size, 1 and 2 threads. Prints wall seconds and the ratio spm / rotor.
# Usage: bench/bpe_train_bench.sh [BUILD_DIR] [VOCAB]
set -euo pipefail
build=${1:-build}
vocab=${2:-8000}
rotor=$build/bin/rotor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bible "gen1:1-rev22:21" > "$tmp/kjv.txt"
now() { date +%s%N; }
for threads in 1 2; do
  t0=$(now)
  spm_train --input="$tmp/kjv.txt" --model_prefix="$tmp/spm" --vocab_size="$vocab" --model_type=bpe \
    --num_threads="$threads" --minloglevel=2 >/dev/null 2>&1
  t1=$(now)
  "$rotor" bpe train --input "$tmp/kjv.txt" --vocab-size "$vocab" --pattern cl100k --out "$tmp/rotor.tiktoken" \
    --threads "$threads" 2>/dev/null
  t2=$(now)
  awk -v s=$(( t1 - t0 )) -v r=$(( t2 - t1 )) -v t="$threads" -v v="$vocab" 'BEGIN {
    printf "bpe train vocab=%d threads=%d spm_train_s=%.2f rotor_s=%.2f ratio=%.1fx\n", v, t, s/1e9, r/1e9, s/r }'
done
