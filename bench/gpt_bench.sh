#!/usr/bin/env bash
# Speed of `rotor train` against the PyTorch 1.13 peer (../shared/peers/torch_gpt.py) on the peer's
# model: byte-level GPT, 4 layers, 256 wide, 4 heads, RoPE, LayerNorm, GELU, ctx 256, batch 8, AdamW,
# on 1 thread, in f32 and in bf16 (rotor --dtype bf16 vs torch autocast). Both report tokens/s from the
# median step time after the first three steps. Each side runs REPEAT times (alternating); the best
# run of each counts. Prints one line per dtype with the ratio rotor / torch.
# Both start from PyTorch's default initialisation (rotor --init torch), so the losses are comparable.
# Usage: bench/gpt_bench.sh [path/to/rotor]
#   env: STEPS=20 (rotor), PEER_STEPS=$STEPS (torch; must be >= 4), REPEAT=2, PEER=.../torch_gpt.py
# The issue's reference figures for the peer on the target machine (f32 3527, bf16 6808 tokens/s) are
# compared with rotor's CPU-time tokens/s as well: on a busy machine wall-clock rates of both sides
# fall with the load, and a peer PyTorch on Debian's reference libblas3 (no OpenBLAS) is ~50x slower
# in f32 than the figure the issue recorded.
set -euo pipefail
rotor=${1:-build/bin/rotor}
steps=${STEPS:-20}
peer_steps=${PEER_STEPS:-$steps}
repeat=${REPEAT:-2}
here=$(cd "$(dirname "$0")" && pwd)
peer=${PEER:-$here/../../shared/peers/torch_gpt.py}
[ -f "$peer" ] || peer=/work/shared/peers/torch_gpt.py
[ -f "$peer" ] || { echo "gpt_bench: the PyTorch peer torch_gpt.py was not found (set PEER=)"; exit 1; }
data=$(mktemp); trap 'rm -f "$data"' EXIT
bible "gen1:1-rev22:21" > "$data"
# one thread for every library the peer may use
one=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=passive)

best() { sort -n | tail -n 1; }
for dtype in f32 bf16; do
  torch_flag=(); [ "$dtype" == bf16 ] && torch_flag=(--bf16)
  torch_tps=(); rotor_tps=(); rotor_cpu=(); torch_loss=""; rotor_loss=""
  for r in $(seq 1 "$repeat"); do
    line=$("${one[@]}" /usr/bin/python3 "$peer" --data "$data" --steps "$peer_steps" --threads 1 "${torch_flag[@]}")
    torch_tps+=("$(sed -n 's/.*tokens\/s=\([0-9]*\).*/\1/p' <<<"$line")")
    torch_loss=$(sed -n 's/.*final_loss=\([0-9.]*\).*/\1/p' <<<"$line")
    out=$("${one[@]}" "$rotor" train --data "$data" --steps "$steps" --threads 1 --dtype "$dtype" --init torch --lr 1e-3 \
          --lr-min 1e-3 --warmup 0 --clip 0 --weight-decay 0.1 --eval-every 100000 2>"$data.log")
    rotor_tps+=("$(sed -n 's/^tokens\/s=\([0-9]*\)$/\1/p' <<<"$out")")
    rotor_loss=$(sed -n 's/.*train loss \([0-9.]*\),.*/\1/p' "$data.log" | tail -n 1)
    rotor_cpu+=("$(sed -n 's/.*cpu_tokens\/s=\([0-9]*\).*/\1/p' "$data.log")")
  done
  t=$(printf '%s\n' "${torch_tps[@]}" | best); m=$(printf '%s\n' "${rotor_tps[@]}" | best)
  ratio=$(awk -v a="$m" -v b="$t" 'BEGIN { printf "%.2f", a / b }')
  issue=3527; [ "$dtype" == bf16 ] && issue=6808
  c=$(printf '%s\n' "${rotor_cpu[@]}" | best)
  ratio_issue=$(awk -v a="$c" -v b="$issue" 'BEGIN { printf "%.2f", a / b }')
  echo "gpt $dtype 1 thread: rotor tokens/s=$m (loss $rotor_loss after $steps steps)  torch tokens/s=$t (loss $torch_loss after $peer_steps steps)  ratio=$ratio"
  echo "gpt $dtype 1 thread: rotor cpu-time tokens/s=$c vs the issue's peer figure $issue: ratio=$ratio_issue"
done
rm -f "$data.log"
