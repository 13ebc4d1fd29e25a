#!/usr/bin/env bash
# Scaling of the token mixers with the context (issue 13 part 5): a training step (forward + backward) of one
# mixer alone at width 64, batch 1, f32, 1 thread (sizes in bench/mixers_bench.cpp), at ctx 256, 1k, 4k and
# 16k, one process per mixer and ctx so that the peak memory is that step's: time (ms) and the growth of the
# peak resident set over the resident set before the step (MB). The exponent is the least-squares slope of
# log(ms) on log(ctx) over 1k-16k (1 = linear, 2 = quadratic); the issue wants <= 1.15 for the linear-time
# mixers and ~2 for softmax.
# Writes OUT_DIR/mixers_scaling.csv (mixer,ctx,ms,peak_mb), OUT_DIR/mixers_scaling.svg (ms against log2 ctx,
# log y, drawn by `rotor plot`) and prints the table with the exponents.
# Usage: bench/mixers_scaling.sh [BUILD_DIR] [OUT_DIR]   env: CTX=256,1024,4096,16384 REPS=1 MIXERS="softmax ..."
#        LIMIT_GB=10
set -euo pipefail
build=${1:-build}
out=${2:-bench/results}
ctx=${CTX:-256,1024,4096,16384}
reps=${REPS:-1}
mixers=${MIXERS:-softmax linear performer flash local strided fixed s4d mamba rnn lstm gru}
[ -x "$build/bin/mixers_bench" ] || { echo "mixers_scaling: $build/bin/mixers_bench not built (make build)"; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "mixer,ctx,ms,peak_mb" > "$tmp/scaling.csv"
echo "# $(date -u +%Y-%m-%d) $(nproc) vCPUs, 1 thread, width 64, batch 1, f32, reps $reps (after one warm-up)"
# Each run is capped at LIMIT_GB of address space (default 10): softmax attention keeps [heads, T, T]
# probabilities and their gradients, about 13 GB at 16k, and a run past the cap fails at once (recorded as
# "failed") instead of pushing the machine into swap.
limit_kb=$(( ${LIMIT_GB:-10} * 1024 * 1024 ))
for m in $mixers; do
  for t in ${ctx//,/ }; do
    if line=$( (ulimit -v "$limit_kb"; OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
                "$build/bin/mixers_bench" 1 "$t" "$m" "$reps" train) 2>/dev/null) && [ -n "$line" ]; then
      awk '{printf "%s,%s,%s,%s\n", $1, $2, $3, $4}' <<<"$line" >> "$tmp/scaling.csv"
    else
      echo "$m,$t,failed,failed" >> "$tmp/scaling.csv"
    fi
  done
done
cp "$tmp/scaling.csv" "$out/mixers_scaling.csv"
/usr/bin/python3 - "$tmp/scaling.csv" "$tmp/plot.csv" <<'PY'
import csv, math, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
failed = {(r["mixer"], int(r["ctx"])) for r in rows if r["ms"] == "failed"}
rows = [r for r in rows if r["ms"] != "failed"]
names = list(dict.fromkeys(r["mixer"] for r in rows))
ctxs = sorted({int(r["ctx"]) for r in rows} | {c for _, c in failed})
at = {(r["mixer"], int(r["ctx"])): r for r in rows}
print(f"{'mixer':10s} " + " ".join(f"{c:>9d}ms {c:>7d}MB" for c in ctxs) + "  exponent(1k-16k)")
for n in names:
    pts = [(math.log(c), math.log(float(at[(n, c)]["ms"]))) for c in ctxs if c >= 1024 and (n, c) in at]
    if len(pts) >= 2:
        mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
        exp = f"{slope:.2f}"
    else:
        exp = "-"
    cells = " ".join(f"{float(at[(n, c)]['ms']):11.1f} {float(at[(n, c)]['peak_mb']):9.1f}" if (n, c) in at
                     else f"{'failed':>21s}" if (n, c) in failed else " " * 21 for c in ctxs)
    print(f"{n:10s} {cells}  {exp}")
with open(sys.argv[2], "w") as f:
    f.write(",".join(["log2_ctx"] + names) + "\n")
    for c in ctxs:
        f.write(",".join([f"{math.log2(c):g}"] + [at[(n, c)]["ms"] if (n, c) in at else "" for n in names]) + "\n")
PY
"$build/bin/rotor" plot "$tmp/plot.csv" --x log2_ctx --log-y --title "token mixers: training step (ms) against log2 ctx, 1 thread, width 64" \
  --out "$out/mixers_scaling.svg"
echo "wrote $out/mixers_scaling.csv and $out/mixers_scaling.svg"
