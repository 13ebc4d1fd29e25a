#!/usr/bin/env bash
# `rotor train --resume` of runs trained on the tape (--mixer, --pos t5|alibi, --objective mlm): a run
# stopped half way (--stop-at) and resumed gives the uninterrupted run bit for bit (metrics.csv,
# model.safetensors and optimizer.safetensors byte-identical: the same ops in the same order), in bf16 and
# f32, for performer with redrawn features too; a resumed run without its optimizer state, or with a
# tampered one, is a one-line error.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for i in $(seq 1 300); do echo "And God said, Let there be light: and there was light. $i"; done > text.txt
small=(--data text.txt --layers 2 --dim 16 --ctx 16 --batch 4 --eval-every 2 --lr 1e-2 --warmup 2 --steps 8 --threads 1)

check_resume() {
  local name=$1; shift
  "$rotor" train "${small[@]}" "$@" --out $name-straight >/dev/null 2>log || fail "$name: straight run failed: $(cat log)"
  "$rotor" train "${small[@]}" "$@" --stop-at 4 --out $name-resumed >/dev/null 2>log || fail "$name: first half failed: $(cat log)"
  [ "$(($(wc -l < $name-resumed/metrics.csv) - 1))" -eq 4 ] || fail "$name: the first half did not stop at step 4"
  "$rotor" train --data text.txt --threads 1 --resume $name-resumed >/dev/null 2>log || fail "$name: resume failed: $(cat log)"
  for f in metrics.csv model.safetensors optimizer.safetensors; do
    cmp -s $name-straight/$f $name-resumed/$f || fail "$name: $f of the resumed run differs from the uninterrupted run's"
  done
}
check_resume linear --mixer linear --heads 2
check_resume lstm --mixer lstm
check_resume lstm-f32 --mixer lstm --dtype f32
check_resume performer --mixer performer --heads 2 --features 8 --redraw 2
check_resume t5 --pos t5 --heads 2
check_resume alibi --pos alibi --heads 2 --dtype f32
check_resume mlm --objective mlm --heads 2
grep -q '"exp_avg.layers.0.mixer' lstm-straight/optimizer.safetensors || fail "optimizer.safetensors lacks the mixer's moments"
# the comparison can fail: another seed is another run
"$rotor" train "${small[@]}" --mixer lstm --seed 2 --out lstm-seed2 >/dev/null 2>&1 || fail "seed 2 failed"
cmp -s lstm-straight/model.safetensors lstm-seed2/model.safetensors && fail "seeds 1 and 2 gave the same model"

expect_error() {
  local want=$1; shift
  "$@" >/dev/null 2>err && fail "accepted: $*"
  [ "$(wc -l < err)" -eq 1 ] && grep -q "^rotor: error: .*$want" err || fail "expected one error line with '$want', got: $(cat err)"
}
expect_error "--mixer cannot be changed" "$rotor" train --data text.txt --resume lstm-straight --mixer gru --steps 12
expect_error "--objective cannot be changed" "$rotor" train --data text.txt --resume lstm-straight --objective mlm --steps 12
expect_error "already holds 8 steps" "$rotor" train --data text.txt --resume lstm-straight
# a mixer run saved before resumable mixer runs (no options, no optimizer state in training_state.json)
cp -r lstm-straight old
python3 - old/training_state.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); s['extra'] = {}; json.dump(s, open(sys.argv[1], 'w'))
PY
expect_error "saved without its optimizer state" "$rotor" train --data text.txt --resume old --steps 12
# the moments replaced by another run's
cp -r lstm-straight swapped
cp lstm-seed2/optimizer.safetensors swapped/
expect_error "optimizer.safetensors" "$rotor" train --data text.txt --resume swapped --steps 12
echo "mixer resume tests passed"
