#!/usr/bin/env bash
# Quality of the token mixers side by side (issue 13 part 5): every mixer in the demo's model (4 blocks,
# 256 wide, 4 heads, ctx 256, batch 8: `rotor train`'s defaults, about 3M parameters), the same steps, the
# same KJV text and seed, in f32 and bf16, one process per run at THREADS threads:
#   val_loss      the KJV validation loss (nats per byte) at the last step
#   tokens_s      training tokens per second of wall time (median step)
#   cpu_tokens_s  tokens per CPU-second (all threads): the figure that holds on a busy machine
#   peak_mb       the process's peak resident set (GNU time's %M)
# Writes OUT_DIR/mixers_quality.csv (mixer,dtype,params,val_loss,tokens_s,cpu_tokens_s,peak_mb),
# OUT_DIR/mixers_quality_val.svg (f32 validation loss against step, one line per mixer, `rotor plot`) and
# prints the table. A run that fails is recorded as "failed" and the rest go on.
# Usage: bench/mixers_quality.sh [BUILD_DIR] [OUT_DIR]   env: STEPS=200 EVAL=25 DTYPES="f32 bf16" THREADS=1
#        MIXERS="softmax linear ..."
set -euo pipefail
build=${1:-build}
out=${2:-bench/results}
steps=${STEPS:-200}
eval_every=${EVAL:-25}
dtypes=${DTYPES:-f32 bf16}
threads=${THREADS:-1}
mixers=${MIXERS:-softmax linear performer flash local strided fixed rnn lstm gru s4d mamba}
rotor="$build/bin/rotor"
[ -x "$rotor" ] || { echo "mixers_quality: $rotor not built (make build)"; exit 1; }
[ -x /usr/bin/time ] || { echo "mixers_quality: GNU time is not installed (apt-get install time)"; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%Y-%m-%d) $(nproc) vCPUs, $threads thread(s), $steps steps, eval every $eval_every"
echo "mixer,dtype,params,val_loss,tokens_s,cpu_tokens_s,peak_mb" > "$tmp/quality.csv"
for m in $mixers; do
  for d in $dtypes; do
    run="$tmp/run-$m-$d"
    if env OMP_NUM_THREADS="$threads" OMP_WAIT_POLICY=passive /usr/bin/time -f "%M" -o "$tmp/rss" \
         "$rotor" train --mixer "$m" --dtype "$d" --steps "$steps" --eval-every "$eval_every" --seed 1 \
         --threads "$threads" --out "$run" > "$tmp/stdout" 2> "$tmp/stderr"; then
      params=$(sed -n 's/.* \([0-9]*\) parameters,.*/\1/p' "$tmp/stderr" | head -1)
      tps=$(sed -n 's/^tokens\/s=\([0-9.]*\)$/\1/p' "$tmp/stdout")
      cpu=$(sed -n 's/.*cpu_tokens\/s=\([0-9.]*\);.*/\1/p' "$tmp/stderr")
      val=$(awk -F, 'NR > 1 && $3 != "" { v = $3 } END { print v }' "$run/metrics.csv")
      rss=$(tail -1 "$tmp/rss")
      echo "$m,$d,$params,$val,$tps,$cpu,$((rss / 1024))" >> "$tmp/quality.csv"
      if [ "$d" = f32 ]; then
        awk -F, -v m="$m" 'NR == 1 { print "step," m; next } $3 != "" { print $1 "," $3 }' "$run/metrics.csv" \
          > "$tmp/val-$m.csv"
      fi
    else
      echo "$m,$d,failed,failed,failed,failed,failed" >> "$tmp/quality.csv"
      echo "mixers_quality: $m $d failed: $(tail -1 "$tmp/stderr")" >&2
    fi
    rm -rf "$run"
    tail -1 "$tmp/quality.csv"
  done
done
cp "$tmp/quality.csv" "$out/mixers_quality.csv"
# the validation curves of the f32 runs, joined on step
files=("$tmp"/val-*.csv)
if [ -e "${files[0]}" ]; then
  /usr/bin/python3 - "${files[@]}" > "$tmp/val.csv" <<'PY'
import csv, sys
cols, steps = {}, set()
for f in sys.argv[1:]:
    rows = list(csv.reader(open(f)))
    name = rows[0][1]
    cols[name] = {int(r[0]): r[1] for r in rows[1:]}
    steps |= set(cols[name])
names = sorted(cols)
print(",".join(["step"] + names))
for s in sorted(steps):
    print(",".join([str(s)] + [cols[n].get(s, "") for n in names]))
PY
  "$rotor" plot "$tmp/val.csv" --title "token mixers: KJV validation loss (f32, $steps steps, ~3M parameters)" \
    --out "$out/mixers_quality_val.svg"
fi
echo
echo "| mixer | params | f32 val loss | bf16 val loss | f32 tokens/s (cpu) | bf16 tokens/s (cpu) | f32 / bf16 peak MB |"
echo "|---|---|---|---|---|---|---|"
/usr/bin/python3 - "$tmp/quality.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
at = {(r["mixer"], r["dtype"]): r for r in rows}
for m in dict.fromkeys(r["mixer"] for r in rows):
    f, b = at.get((m, "f32"), {}), at.get((m, "bf16"), {})
    g = lambda r, k: r.get(k, "-")
    print(f"| {m} | {g(f, 'params') if f else g(b, 'params')} | {g(f, 'val_loss')} | {g(b, 'val_loss')} | "
          f"{g(f, 'tokens_s')} ({g(f, 'cpu_tokens_s')}) | {g(b, 'tokens_s')} ({g(b, 'cpu_tokens_s')}) | "
          f"{g(f, 'peak_mb')} / {g(b, 'peak_mb')} |")
PY
echo "wrote $out/mixers_quality.csv and $out/mixers_quality_val.svg"
