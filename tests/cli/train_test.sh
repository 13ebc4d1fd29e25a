#!/usr/bin/env bash
# `rotor train`, `rotor sample`, `rotor logits` end to end on a small text: the run directory, the
# last line tokens/s=..., exact resume, deterministic sampling, NPY logits.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 200); do echo "And God said, Let there be light: and there was light. $i"; done > "$tmp/text.txt"
small=(--data "$tmp/text.txt" --layers 1 --dim 32 --heads 4 --kv-heads 2 --ctx 32 --batch 2 --eval-every 5 --threads 1)

out=$("$rotor" train "${small[@]}" --steps 10 --out "$tmp/straight" 2>"$tmp/log") || fail "train failed: $(cat "$tmp/log")"
[[ "$(tail -n 1 <<<"$out")" =~ ^tokens/s=[0-9]+$ ]] || fail "last line is not tokens/s=N: $out"
for f in config.json model.safetensors optimizer.safetensors training_state.json metrics.csv loss.svg; do
  [ -s "$tmp/straight/$f" ] || fail "run directory lacks $f"
done
[ "$(wc -l < "$tmp/straight/metrics.csv")" -eq 11 ] || fail "metrics.csv should have a header and 10 rows"
grep -q "validation loss" "$tmp/log" || fail "no validation loss reported"
grep -q "<svg" "$tmp/straight/loss.svg" || fail "loss.svg is not an SVG"

# resume: stop after 5 of 10 steps, then continue; the metrics must equal the uninterrupted run's exactly
"$rotor" train "${small[@]}" --steps 10 --stop-at 5 --out "$tmp/resumed" >/dev/null 2>&1 || fail "first half failed"
"$rotor" train --data "$tmp/text.txt" --threads 1 --resume "$tmp/resumed" >/dev/null 2>"$tmp/log2" || fail "resume failed: $(cat "$tmp/log2")"
cmp -s "$tmp/straight/metrics.csv" "$tmp/resumed/metrics.csv" || fail "resumed loss curve differs: $(diff "$tmp/straight/metrics.csv" "$tmp/resumed/metrics.csv")"
cmp -s "$tmp/straight/model.safetensors" "$tmp/resumed/model.safetensors" || fail "resumed parameters differ"

# gradient accumulation: 2 passes of --batch 2 per step, resumed mid-run, equal the uninterrupted run
# (grad_accum is kept with the run's options), and the run is not the one without accumulation
acc=(--data "$tmp/text.txt" --layers 1 --dim 32 --heads 4 --ctx 32 --batch 2 --grad-accum 2 --eval-every 3 --threads 1)
"$rotor" train "${acc[@]}" --steps 6 --out "$tmp/acc" >/dev/null 2>"$tmp/log3" || fail "accumulating run failed: $(cat "$tmp/log3")"
grep -q "batch 2 x 2 accumulated" "$tmp/log3" || fail "the run does not report its accumulation: $(head -n 1 "$tmp/log3")"
"$rotor" train "${acc[@]}" --steps 6 --stop-at 3 --out "$tmp/acc2" >/dev/null 2>&1 || fail "accumulating first half failed"
"$rotor" train --data "$tmp/text.txt" --threads 1 --resume "$tmp/acc2" >/dev/null 2>&1 || fail "accumulating resume failed"
cmp -s "$tmp/acc/metrics.csv" "$tmp/acc2/metrics.csv" || fail "resumed accumulating run differs: $(diff "$tmp/acc/metrics.csv" "$tmp/acc2/metrics.csv")"
"$rotor" train --data "$tmp/text.txt" --layers 1 --dim 32 --heads 4 --ctx 32 --batch 2 --eval-every 3 --threads 1 \
  --steps 6 --out "$tmp/noacc" >/dev/null 2>&1 || fail "run without accumulation failed"
! cmp -s "$tmp/acc/metrics.csv" "$tmp/noacc/metrics.csv" || fail "--grad-accum 2 changed nothing"

# sampling is deterministic for a seed and continues the prompt
s1=$("$rotor" sample --model "$tmp/straight" --prompt "And God" --tokens 40 --seed 3 --top-k 20 --top-p 0.9 --threads 1) || fail "sample failed"
s2=$("$rotor" sample --model "$tmp/straight" --prompt "And God" --tokens 40 --seed 3 --top-k 20 --top-p 0.9 --threads 1)
[ "$s1" == "$s2" ] || fail "sampling with the same seed differs"
[[ "$s1" == "And God"* ]] || fail "sample does not start with the prompt: $s1"
[ "${#s1}" -ge 40 ] || fail "sample too short: $s1"
# generating past the context (32) exercises the cache refill
"$rotor" sample --model "$tmp/straight" --tokens 100 --temperature 0 --threads 1 >/dev/null || fail "long sample failed"

"$rotor" logits --model "$tmp/straight" --ids 65,110,100 --out "$tmp/logits.npy" --threads 1 || fail "logits failed"
head -c 128 "$tmp/logits.npy" | grep -q "'shape': (3, 256)" || fail "logits.npy has the wrong header"
echo ok
