#!/usr/bin/env bash
# Bad input to train/sample/logits: one-line `rotor: error: ...`, non-zero exit, no crash, and an
# existing run directory left untouched.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 100); do echo "In the beginning God created the heaven and the earth. $i"; done > "$tmp/text.txt"
small=(--data "$tmp/text.txt" --layers 1 --dim 16 --heads 2 --ctx 16 --batch 2 --threads 1)

# expect_error MESSAGE-PATTERN CMD...: fails unless CMD exits non-zero and its stderr ends with one
# `rotor: error: ...` line matching the pattern (progress lines may precede it)
expect_error() {
  local pattern=$1; shift
  local all err code
  all=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ $code -lt 128 ] || fail "crashed ($code): $*"
  err=$(tail -n 1 <<<"$all")
  [ "$(grep -c "rotor: error" <<<"$all")" -eq 1 ] || fail "expected exactly one error line for $*: $all"
  [[ "$err" == "rotor: error: "* ]] || fail "unexpected error text for $*: $all"
  grep -q -- "$pattern" <<<"$err" || fail "error for $* does not mention '$pattern': $err"
}

"$rotor" train "${small[@]}" --steps 4 --eval-every 2 --out "$tmp/run" >/dev/null 2>&1 || fail "baseline run failed"
sum=$(md5sum "$tmp/run/model.safetensors" "$tmp/run/config.json")

expect_error "ctx 100000 is longer than the training data" "$rotor" train --data "$tmp/text.txt" --ctx 100000 --steps 1 --threads 1
expect_error "missing.txt" "$rotor" train --data "$tmp/missing.txt" --steps 1 --threads 1
expect_error "unknown dtype 'f64'" "$rotor" train "${small[@]}" --dtype f64 --steps 1
expect_error "unknown norm" "$rotor" train "${small[@]}" --norm batchnorm --steps 1
expect_error "not a multiple of kv_heads" "$rotor" train --data "$tmp/text.txt" --kv-heads 3 --heads 4 --dim 16 --steps 1 --threads 1
expect_error "cannot be changed" "$rotor" train --data "$tmp/text.txt" --resume "$tmp/run" --dim 64 --steps 8 --threads 1
expect_error "cannot be changed" "$rotor" train --data "$tmp/text.txt" --resume "$tmp/run" --grad-accum 2 --steps 8 --threads 1
expect_error "grad-accum: must be a whole number >= 1, got .0." "$rotor" train "${small[@]}" --grad-accum 0 --steps 1
expect_error "threads: must be a whole number >= 1, got .1.5." "$rotor" train "${small[@]}" --threads 1.5 --steps 1
expect_error "already holds 4 steps" "$rotor" train --data "$tmp/text.txt" --resume "$tmp/run" --steps 4 --threads 1
# a diverging run stops with a NaN/inf loss error and does not overwrite the existing run
expect_error "loss is" "$rotor" train "${small[@]}" --lr 1e30 --clip 0 --warmup 0 --steps 50 --eval-every 40 --out "$tmp/run"
[ "$(md5sum "$tmp/run/model.safetensors" "$tmp/run/config.json")" == "$sum" ] || fail "failed run touched the checkpoint"

cp -r "$tmp/run" "$tmp/badkey"
sed -i 's/"dim": 16/"dim": 16, "bogus": 1/' "$tmp/badkey/config.json"
expect_error "unknown config key 'bogus'" "$rotor" sample --model "$tmp/badkey" --tokens 5
cp -r "$tmp/run" "$tmp/contradict"
sed -i 's/"kv_heads": 2/"kv_heads": 3/' "$tmp/contradict/config.json"
expect_error "kv_heads" "$rotor" logits --model "$tmp/contradict" --ids 1,2 --out "$tmp/x.npy"
cp -r "$tmp/run" "$tmp/truncated"
head -c 1000 "$tmp/run/model.safetensors" > "$tmp/truncated/model.safetensors"
expect_error "model.safetensors" "$rotor" sample --model "$tmp/truncated" --tokens 5
cp -r "$tmp/run" "$tmp/shape"
# a model whose config says dim 32 cannot load 16-wide tensors
sed -i 's/"dim": 16/"dim": 32/' "$tmp/shape/config.json"
expect_error "has shape" "$rotor" logits --model "$tmp/shape" --ids 1 --out "$tmp/x.npy"
expect_error "not an integer token id" "$rotor" logits --model "$tmp/run" --ids 1,x --out "$tmp/x.npy"
expect_error "outside the vocabulary" "$rotor" logits --model "$tmp/run" --ids 1,300 --out "$tmp/x.npy"
expect_error "exceed the model context" "$rotor" logits --model "$tmp/run" --ids "$(seq -s, 1 17)" --out "$tmp/x.npy"
[ ! -e "$tmp/x.npy" ] || fail "a failed logits run left an output file"
expect_error "top-p" "$rotor" sample --model "$tmp/run" --top-p 0
# options that parse but make no sense are refused before training (issue 17)
expect_error "lr-min must be between 0 and --lr" "$rotor" train "${small[@]}" --lr 0.01 --lr-min 0.1 --steps 1
expect_error "lr-min must be between 0 and --lr" "$rotor" train "${small[@]}" --lr-min -2 --steps 1
expect_error "clip must be >= 0" "$rotor" train "${small[@]}" --clip -1 --steps 1
expect_error "weight-decay must be >= 0" "$rotor" train "${small[@]}" --weight-decay -0.5 --steps 1
expect_error "warmup must be >= 0" "$rotor" train "${small[@]}" --warmup -3 --steps 1
expect_error "stop-at (20) is past the last step" "$rotor" train "${small[@]}" --steps 10 --stop-at 20
expect_error "model too large: 4 layers x 1000000000 wide" "$rotor" train --data "$tmp/text.txt" --dim 1000000000 --steps 1 --threads 1
expect_error "model too large: 100000 layers" "$rotor" train --data "$tmp/text.txt" --layers 100000 --steps 1 --threads 1
touch "$tmp/afile"
expect_error "afile exists and is not a directory" "$rotor" train "${small[@]}" --steps 50 --out "$tmp/afile"
expect_error "is a directory; pass a text file" "$rotor" train --data "$tmp" --steps 1 --threads 1
echo ok
