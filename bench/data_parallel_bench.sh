#!/usr/bin/env bash
# Data-parallel training (`mpirun -np N rotor train`) against one process, on the demo's GPT (4 layers,
# 256 wide, ctx 256, global batch 8, AdamW), in the same run: 1 process x 1 thread, 1 process x 2 threads,
# 2 processes x 1 thread. Prints tokens/s (median step) and the gradient bytes each rank allreduces per
# step. On this machine's two vCPUs (one core's vector units) two processes share one core, as two
# threads do, so this measures the overhead of the allreduce more than a speed-up.
# Usage: bench/data_parallel_bench.sh [path/to/rotor | build-dir]   env: STEPS=20, DTYPES="f32 bf16"
set -euo pipefail
rotor=${1:-build/bin/rotor}
[ -d "$rotor" ] && rotor=$rotor/bin/rotor
steps=${STEPS:-20}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 4000); do echo "In the beginning God created the heaven and the earth. And the earth was without form. $i"; done > "$tmp/text.txt"
model=(--data "$tmp/text.txt" --layers 4 --dim 256 --heads 4 --ctx 256 --batch 8 --steps "$steps" --eval-every 100000)
rate() { sed -n 's/^tokens\/s=//p' "$tmp/out"; }
echo "| dtype | 1 process, 1 thread | 1 process, 2 threads | 2 processes, 1 thread each | ratio 2 proc / 1 | bytes allreduced per step per rank |"
echo "|---|---|---|---|---|---|"
for dtype in ${DTYPES:-f32 bf16}; do
  "$rotor" train "${model[@]}" --dtype "$dtype" --threads 1 >"$tmp/out" 2>/dev/null; one=$(rate)
  "$rotor" train "${model[@]}" --dtype "$dtype" --threads 2 >"$tmp/out" 2>/dev/null; two_threads=$(rate)
  mpirun --allow-run-as-root --oversubscribe -np 2 "$rotor" train "${model[@]}" --dtype "$dtype" --threads 1 \
    >"$tmp/out" 2>"$tmp/log"; two=$(rate)
  bytes=$(sed -n 's/.*processes, \([0-9]*\) bytes of gradients.*/\1/p' "$tmp/log")
  awk -v d="$dtype" -v a="$one" -v b="$two_threads" -v c="$two" -v by="$bytes" \
    'BEGIN { printf "| %s | %d tokens/s | %d | %d | %.2f | %d |\n", d, a, b, c, c / a, by }'
done
