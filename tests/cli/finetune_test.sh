#!/usr/bin/env bash
# `rotor train --objective mlm` then `rotor finetune --task testament` on a tiny model and a small text in
# the `bible` layout: runs, writes metrics.json with a test_accuracy in [0, 1] and model.safetensors; bad
# input gets one `rotor: error:` line and a non-zero exit.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
  for book in Genesis Exodus Matthew Mark; do
    printf '\n%s 1\n\n' "$book"
    for v in $(seq 1 40); do
      if [[ $book == M* ]]; then echo "  $v Jesus spake unto the disciples, saying, verily I say unto you $v"
      else echo "  $v And the LORD spake unto Moses, saying, Speak unto the children of Israel $v"; fi
    done
  done
} > "$tmp/kjv.txt"
expect_error() {
  local pattern=$1; shift
  local all code
  all=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ $code -lt 128 ] || fail "crashed ($code): $*"
  [ "$(grep -c "rotor: error" <<<"$all")" -eq 1 ] || fail "expected exactly one error line for $*: $all"
  [[ "$(tail -n 1 <<<"$all")" == "rotor: error: "*"$pattern"* ]] || fail "error for $* does not mention '$pattern': $all"
}
"$rotor" train --objective mlm --data "$tmp/kjv.txt" --layers 1 --dim 16 --heads 2 --ctx 32 --batch 4 --steps 6 \
  --eval-every 3 --dtype f32 --threads 1 --out "$tmp/enc" >/dev/null 2>&1 || fail "mlm training failed"
grep -q '"encoder": true' "$tmp/enc/config.json" || fail "config.json does not mark the encoder"
"$rotor" finetune --model "$tmp/enc" --data "$tmp/kjv.txt" --length 24 --steps 5 --batch 4 --threads 1 \
  --out "$tmp/ft" >/dev/null 2>&1 || fail "finetune failed"
[ -s "$tmp/ft/model.safetensors" ] || fail "no model.safetensors"
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); a=m["test_accuracy"]; assert 0<=a<=1 and m["pretrained"] and m["test_examples"]==32 and m["train_examples"]==128, m' \
  "$tmp/ft/metrics.json" || fail "bad metrics.json"
"$rotor" finetune --model "$tmp/enc" --data "$tmp/kjv.txt" --length 24 --steps 5 --batch 4 --threads 1 --from-scratch \
  --out "$tmp/scratch" >/dev/null 2>&1 || fail "finetune --from-scratch failed"
grep -q '"pretrained": false' "$tmp/scratch/metrics.json" || fail "--from-scratch not recorded"

expect_error "unknown --task 'books'" "$rotor" finetune --model "$tmp/enc" --data "$tmp/kjv.txt" --task books
expect_error "not a run directory" "$rotor" finetune --model "$tmp/missing" --data "$tmp/kjv.txt"
expect_error "longer than the encoder's context" "$rotor" finetune --model "$tmp/enc" --data "$tmp/kjv.txt" --length 33
expect_error "no verses found" "$rotor" finetune --model "$tmp/enc" --data "$tmp/enc/config.json" --length 24
expect_error "test-fraction" "$rotor" finetune --model "$tmp/enc" --data "$tmp/kjv.txt" --test-fraction 1.5 --length 24
expect_error "does not generate text" "$rotor" sample --model "$tmp/enc" --tokens 5
expect_error "unknown --objective 'clm'" "$rotor" train --objective clm --data "$tmp/kjv.txt" --steps 1 --threads 1
expect_error "pos rope is not supported" "$rotor" train --objective mlm --pos rope --data "$tmp/kjv.txt" --steps 1 --threads 1
expect_error "not --mixer lstm" "$rotor" train --objective mlm --mixer lstm --data "$tmp/kjv.txt" --steps 1 --threads 1
"$rotor" train --data "$tmp/kjv.txt" --layers 1 --dim 16 --ctx 32 --batch 2 --steps 2 --mixer lstm --threads 1 \
  --out "$tmp/lm" >/dev/null 2>&1 || fail "lstm lm run failed"
expect_error "left-to-right model" "$rotor" finetune --model "$tmp/lm" --data "$tmp/kjv.txt" --length 24
echo OK
