#!/usr/bin/env bash
# The token mixers of rotor/nn against PyTorch 1.13 running the same mixers (bench/mixers_torch.py: torch.nn
# RNN/LSTM/GRU and the reference implementations of tests/nn/make_mixer_reference.py), one mixer alone at
# width 64 (sizes in bench/mixers_bench.cpp), batch 1, f32, per context length and thread count:
#   train: ms of forward + backward, and the speedup torch_ms / rotor_ms (> 1: rotor faster)
#   decode: rotor's tokens/s through step(); PyTorch's for the recurrent networks (the other references
#           have no single-token form)
# Writes OUT_DIR/mixers.csv (threads,mixer,ctx,rotor_ms,torch_ms,speedup,rotor_decode,torch_decode) and
# OUT_DIR/mixers_train_1thread.svg (training ms against ctx, one line per mixer and side, log scale, drawn
# by `rotor plot`). PyTorch runs with OPENBLAS_CORETYPE unset (OpenBLAS's own kernel choice).
# Usage: bench/mixers_bench.sh [BUILD_DIR] [OUT_DIR]   env: CTX=256,512,1024 THREADS="1 2" REPS=3 MIXERS=all
set -euo pipefail
build=${1:-build}
out=${2:-bench/results}
ctx=${CTX:-256,512,1024}
threads_list=${THREADS:-1 2}
reps=${REPS:-3}
mixers=${MIXERS:-all}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$build/bin/mixers_bench" ] || { echo "mixers_bench: $build/bin/mixers_bench not built (make build)"; exit 1; }
if ! /usr/bin/python3 -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("openblas") else 1)'; then
  echo "mixers_bench: OpenBLAS is not installed (apt-get install libopenblas0-pthread)"; exit 1
fi
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "threads,mixer,ctx,rotor_ms,torch_ms,speedup,rotor_decode,torch_decode" > "$tmp/mixers.csv"
echo "# $(date -u +%Y-%m-%d) $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for t in $threads_list; do
  limits=(OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t MKL_NUM_THREADS=$t OMP_WAIT_POLICY=passive)
  env "${limits[@]}" "$build/bin/mixers_bench" "$t" "$ctx" "$mixers" "$reps" > "$tmp/rotor_$t"
  env -u OPENBLAS_CORETYPE "${limits[@]}" /usr/bin/python3 "$here/mixers_torch.py" "$t" "$ctx" "$mixers" "$reps" \
    > "$tmp/torch_$t"
  echo "## $t thread(s): training ms (forward + backward), speedup = torch / rotor; decoding tokens/s"
  printf "%-10s %6s %10s %10s %8s %12s %12s\n" mixer ctx rotor_ms torch_ms speedup rotor_tok/s torch_tok/s
  join -j1 <(awk '{print $1"_"$2, $0}' "$tmp/rotor_$t" | sort) <(awk '{print $1"_"$2, $3, $4}' "$tmp/torch_$t" | sort) |
    awk -v t="$t" '{ printf "%-10s %6d %10.2f %10.2f %8.2f %12.0f %12s\n", $2, $3, $4, $6, $6 / $4, $5, $7;
                     printf "%d,%s,%d,%.3f,%.3f,%.3f,%.1f,%s\n", t, $2, $3, $4, $6, $6 / $4, $5, $7 >> "'"$tmp/mixers.csv"'" }' |
    sort -k1,1 -k2,2n
done
cp "$tmp/mixers.csv" "$out/mixers.csv"
# the plot: ctx as x, one column per mixer and side (1 thread)
/usr/bin/python3 - "$tmp/mixers.csv" > "$tmp/plot.csv" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["threads"] == "1"]
names = sorted({r["mixer"] for r in rows})
ctxs = sorted({int(r["ctx"]) for r in rows})
at = {(r["mixer"], int(r["ctx"])): r for r in rows}
print(",".join(["ctx"] + [f"{side}_{n}" for n in names for side in ("rotor", "torch")]))
for c in ctxs:
    print(",".join([str(c)] + [at[(n, c)][f"{side}_ms"] for n in names for side in ("rotor", "torch")]))
PY
if [ "$(wc -l < "$tmp/plot.csv")" -gt 2 ]; then
  "$build/bin/rotor" plot "$tmp/plot.csv" --x ctx --log-y --title "token mixers: training step (ms), 1 thread, width 64" \
    --out "$out/mixers_train_1thread.svg"
  echo "wrote $out/mixers.csv and $out/mixers_train_1thread.svg"
else
  echo "wrote $out/mixers.csv (one context length: no plot)"
fi
