#!/usr/bin/env bash
# `rotor train --checkpoint-activations[=K]`: the same loss curve and the same final parameters, byte for
# byte, as the run that keeps every activation (f32 and bf16; K dividing the depth or not; the fused model
# and models trained on the tape with --mixer); a run resumed
# with checkpointing continues the one without; bad values are one-line errors.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 200); do echo "In the beginning God created the heaven and the earth. $i"; done > "$tmp/text.txt"
small=(--data "$tmp/text.txt" --layers 3 --dim 32 --heads 4 --ctx 32 --batch 2 --eval-every 3 --steps 6 --threads 1)

for dtype in f32 bf16; do
  "$rotor" train "${small[@]}" --dtype "$dtype" --out "$tmp/full-$dtype" >/dev/null 2>"$tmp/log" ||
    fail "$dtype run failed: $(cat "$tmp/log")"
  for k in "" "=2" "=3"; do
    "$rotor" train "${small[@]}" --dtype "$dtype" --checkpoint-activations$k --out "$tmp/ck" >/dev/null 2>"$tmp/log" ||
      fail "$dtype --checkpoint-activations$k failed: $(cat "$tmp/log")"
    cmp -s "$tmp/full-$dtype/metrics.csv" "$tmp/ck/metrics.csv" ||
      fail "$dtype --checkpoint-activations$k changed the losses: $(diff "$tmp/full-$dtype/metrics.csv" "$tmp/ck/metrics.csv")"
    cmp -s "$tmp/full-$dtype/model.safetensors" "$tmp/ck/model.safetensors" ||
      fail "$dtype --checkpoint-activations$k changed the parameters"
    rm -rf "$tmp/ck"
  done
done
# a model trained on the tape (--mixer): segments as autograd::checkpoint nodes, the same run
tape=(--data "$tmp/text.txt" --layers 3 --dim 32 --ctx 32 --batch 2 --eval-every 3 --steps 4 --threads 1)
for mixer in gru linear; do
  "$rotor" train "${tape[@]}" --mixer $mixer --out "$tmp/m-$mixer" >/dev/null 2>"$tmp/log" || fail "--mixer $mixer failed: $(cat "$tmp/log")"
  "$rotor" train "${tape[@]}" --mixer $mixer --checkpoint-activations=2 --out "$tmp/mc-$mixer" >/dev/null 2>"$tmp/log" ||
    fail "--mixer $mixer --checkpoint-activations=2 failed: $(cat "$tmp/log")"
  cmp -s "$tmp/m-$mixer/metrics.csv" "$tmp/mc-$mixer/metrics.csv" ||
    fail "--mixer $mixer: checkpointing changed the losses: $(diff "$tmp/m-$mixer/metrics.csv" "$tmp/mc-$mixer/metrics.csv")"
done

# a different seed does change the run (the comparison above can fail)
"$rotor" train "${small[@]}" --dtype f32 --seed 2 --checkpoint-activations --out "$tmp/seed2" >/dev/null 2>&1 || fail "seed 2 failed"
! cmp -s "$tmp/full-f32/metrics.csv" "$tmp/seed2/metrics.csv" || fail "the losses do not depend on the run"

# stop without checkpointing, resume with it: the uninterrupted run's parameters
"$rotor" train "${small[@]}" --dtype f32 --stop-at 3 --out "$tmp/half" >/dev/null 2>&1 || fail "first half failed"
"$rotor" train --data "$tmp/text.txt" --threads 1 --checkpoint-activations --resume "$tmp/half" >/dev/null 2>"$tmp/log" ||
  fail "checkpointed resume failed: $(cat "$tmp/log")"
cmp -s "$tmp/full-f32/model.safetensors" "$tmp/half/model.safetensors" || fail "checkpointed resume differs"

for bad in "=-1" "=two"; do
  "$rotor" train "${small[@]}" --checkpoint-activations$bad --out "$tmp/bad" >/dev/null 2>"$tmp/err" && fail "accepted --checkpoint-activations$bad"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] && grep -q "^rotor: error: .*checkpoint-activations" "$tmp/err" ||
    fail "--checkpoint-activations$bad: not one error line: $(cat "$tmp/err")"
  [ ! -e "$tmp/bad/model.safetensors" ] || fail "--checkpoint-activations$bad wrote a model"
done
echo ok
