#!/usr/bin/env bash
# Gradient checkpointing (`rotor train --checkpoint-activations[=K]`): peak memory (max RSS, from GNU
# time) and median step time of the demo's GPT (4 layers, 256 wide, 4 heads) at long contexts, with and
# without checkpointing, in the same run. The issue's targets: RSS at least 40% lower, step time at most
# 35% higher, at ctx 1024 and 4096.
# Usage: bench/checkpoint_bench.sh [path/to/rotor | build-dir]
#   env: THREADS=1, STEPS=6, DTYPES="f32 bf16", KS="1 2", CASES="1024:4 4096:1" (ctx:batch)
set -euo pipefail
rotor=${1:-build/bin/rotor}
[ -d "$rotor" ] && rotor=$rotor/bin/rotor
threads=${THREADS:-1}
steps=${STEPS:-6}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 3000); do echo "In the beginning God created the heaven and the earth. And the earth was without form. $i"; done > "$tmp/text.txt"

# prints "max_rss_MB median_step_ms"
measure() {
  /usr/bin/time -f "%M" -o "$tmp/rss" "$rotor" train --data "$tmp/text.txt" --layers 4 --dim 256 --heads 4 \
    --steps "$steps" --eval-every 1000 --threads "$threads" "$@" >/dev/null 2>"$tmp/log" ||
    { echo "checkpoint_bench: rotor train $* failed: $(tail -n 3 "$tmp/log")" >&2; exit 1; }
  local ms
  ms=$(sed -n 's/^median step: \([0-9.]*\) ms wall.*/\1/p' "$tmp/log")
  [ -n "$ms" ] || { echo "checkpoint_bench: no median step in the log" >&2; exit 1; }
  echo "$(( $(cat "$tmp/rss") / 1024 )) $ms"
}

echo "| dtype | ctx x batch | checkpointing | max RSS | step | RSS change | step change |"
echo "|---|---|---|---|---|---|---|"
for dtype in ${DTYPES:-f32 bf16}; do
  for c in ${CASES:-1024:4 4096:1}; do
    ctx=${c%%:*} batch=${c##*:}
    read -r rss0 ms0 < <(measure --dtype "$dtype" --ctx "$ctx" --batch "$batch")
    echo "| $dtype | $ctx x $batch | off | $rss0 MB | $ms0 ms | | |"
    for k in ${KS:-1 2}; do
      read -r rss ms < <(measure --dtype "$dtype" --ctx "$ctx" --batch "$batch" --checkpoint-activations="$k")
      awk -v d="$dtype" -v c="$ctx x $batch" -v k="$k" -v r="$rss" -v m="$ms" -v r0="$rss0" -v m0="$ms0" 'BEGIN {
        printf "| %s | %s | every %s | %d MB | %s ms | %+.0f%% | %+.0f%% |\n", d, c, k, r, m, 100 * (r - r0) / r0, 100 * (m - m0) / m0 }'
    done
  done
done
