#!/usr/bin/env bash
# The loss curve of `rotor train` against the PyTorch 1.13 peer (../shared/peers/torch_gpt.py) on the
# peer's model and settings (AdamW lr 1e-3, weight decay 0.1, no warmup, no clipping, PyTorch's default
# initialisation via --init torch), for the issue's "same loss curve within noise".
# The peer prints only its last batch's loss and fixes its seeds in its source (torch.manual_seed(0) for
# the weights, a generator seeded 1 for the batches), so it runs from copies that also print every step's
# loss and, for PEER_SEEDS s, use seeds s and s + 1 (s = 0: the peer's own). rotor writes every step's
# loss to metrics.csv and runs with SEEDS. One batch's loss scatters by ~0.05 around the curve, so the
# table gives each run's mean over the steps N-4 .. N+4 (those that ran) around each checkpoint N, and
# the mean and spread (sample standard deviation) of those over the seeds of each side.
# Takes ~6 minutes with the defaults.
# Usage: bench/gpt_loss_curve.sh [path/to/rotor | build-dir]
#   env: CHECKPOINTS="10 25 50 100" (the last one is the run length), SEEDS="1 2 3" (rotor),
#        PEER_SEEDS="0 1 2", DTYPES="f32 bf16", PEER=
set -euo pipefail
rotor=${1:-build/bin/rotor}
[ -d "$rotor" ] && rotor=$rotor/bin/rotor
checkpoints=(${CHECKPOINTS:-10 25 50 100})
seeds=(${SEEDS:-1 2 3})
peer_seeds=(${PEER_SEEDS:-0 1 2})
steps=${checkpoints[${#checkpoints[@]} - 1]}
here=$(cd "$(dirname "$0")" && pwd)
peer=${PEER:-$here/../../shared/peers/torch_gpt.py}
[ -f "$peer" ] || peer=/work/shared/peers/torch_gpt.py
[ -f "$peer" ] || { echo "gpt_loss_curve: the PyTorch peer torch_gpt.py was not found (set PEER=)"; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bible "gen1:1-rev22:21" > "$work/kjv.txt"
for s in "${peer_seeds[@]}"; do
  sed -e "s/torch.manual_seed(0)/torch.manual_seed($s)/" -e "s/Generator().manual_seed(1)/Generator().manual_seed($((s + 1)))/" \
      -e "s/times.append(time.perf_counter() - t)/&; print('loss', step + 1, loss.item())/" "$peer" > "$work/peer$s.py"
  for want in "torch.manual_seed($s)" "Generator().manual_seed($((s + 1)))" "print('loss'"; do
    grep -qF "$want" "$work/peer$s.py" || { echo "gpt_loss_curve: could not adapt $peer (no '$want')"; exit 1; }
  done
done
# (the losses do not depend on OpenBLAS's kernel choice beyond rounding; its fastest one saves time)
one=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
     OMP_WAIT_POLICY=passive)

# window FILE N: the mean of the losses of steps N-4 .. N+4 in FILE (lines "step loss")
window() { awk -v n="$2" '$1 >= n - 4 && $1 <= n + 4 { s += $2; c++ } END { printf "%.4f", s / c }' "$1"; }
# summary V...: "mean +- sd" of the values
summary() { printf '%s\n' "$@" | awk '{ s += $1; q += $1 * $1; c++ }
  END { m = s / c; v = c > 1 ? (q - c * m * m) / (c - 1) : 0; printf "%.3f +- %.3f", m, sqrt(v > 0 ? v : 0) }'; }

for dtype in ${DTYPES:-f32 bf16}; do
  torch_flag=(); [ "$dtype" == bf16 ] && torch_flag=(--bf16)
  for s in "${peer_seeds[@]}"; do
    "${one[@]}" /usr/bin/python3 "$work/peer$s.py" --data "$work/kjv.txt" --steps "$steps" --threads 1 "${torch_flag[@]}" |
      awk '$1 == "loss" { print $2, $3 }' > "$work/torch$s.txt"
  done
  for s in "${seeds[@]}"; do
    "${one[@]}" "$rotor" train --data "$work/kjv.txt" --steps "$steps" --threads 1 --dtype "$dtype" --init torch \
      --lr 1e-3 --lr-min 1e-3 --warmup 0 --clip 0 --weight-decay 0.1 --eval-every 100000 --seed "$s" \
      --out "$work/run$s" >/dev/null 2>&1
    # metrics.csv: step,train_loss,val_loss,lr,grad_norm
    awk -F, 'NR > 1 { print $1, $2 }' "$work/run$s/metrics.csv" > "$work/rotor$s.txt"
  done
  echo "gpt $dtype: training loss, mean of steps N-4..N+4 per run; torch seeds ${peer_seeds[*]}, rotor seeds ${seeds[*]}"
  printf '%5s  %-22s %-15s  %-22s %-15s %s\n' N "torch (per seed)" "torch" "rotor (per seed)" "rotor" "difference"
  for n in "${checkpoints[@]}"; do
    tw=(); rw=()
    for s in "${peer_seeds[@]}"; do tw+=("$(window "$work/torch$s.txt" "$n")"); done
    for s in "${seeds[@]}"; do rw+=("$(window "$work/rotor$s.txt" "$n")"); done
    diff=$(awk -v a="$(printf '%s\n' "${rw[@]}" | awk '{ s += $1 } END { print s / NR }')" \
               -v b="$(printf '%s\n' "${tw[@]}" | awk '{ s += $1 } END { print s / NR }')" 'BEGIN { printf "%+.3f", a - b }')
    printf '%5s  %-22s %-15s  %-22s %-15s %s\n' "$n" "${tw[*]}" "$(summary "${tw[@]}")" "${rw[*]}" \
      "$(summary "${rw[@]}")" "$diff"
  done
done
