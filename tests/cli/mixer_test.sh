#!/usr/bin/env bash
# `rotor train --mixer NAME` and `rotor sample` from its run: every mixer trains a few steps (the loss
# falls), saves config.json with its mixer, and samples deterministically through the mixers' step();
# flags that do not apply to the chosen mixer and bad values are one-line errors that leave no run.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 300); do echo "And God said, Let there be light: and there was light. $i"; done > "$tmp/text.txt"
small=(--data "$tmp/text.txt" --layers 1 --dim 16 --ctx 16 --batch 4 --eval-every 10 --lr 1e-2
       --warmup 2 --threads 1)

for m in rnn lstm gru linear performer flash local strided fixed s4d mamba; do
  extra=()
  case $m in
    linear|performer|local|strided|fixed) extra=(--heads 2) ;;
  esac
  case $m in
    performer) extra+=(--features 16 --redraw 10) ;;
    local|strided) extra+=(--window 4) ;;
    fixed) extra+=(--window 4 --summary 2) ;;
    s4d|mamba) extra+=(--state 8) ;;
  esac
  out=$("$rotor" train "${small[@]}" --steps 30 "${extra[@]}" --mixer $m --out "$tmp/$m" 2>"$tmp/log") \
    || fail "$m: train failed: $(cat "$tmp/log")"
  [[ "$(tail -n 1 <<<"$out")" =~ ^tokens/s=[0-9]+$ ]] || fail "$m: last line is not tokens/s=N: $out"
  grep -q "mixer $m" "$tmp/log" || fail "$m: the run does not report its mixer: $(head -n 1 "$tmp/log")"
  for f in config.json model.safetensors metrics.csv loss.svg; do
    [ -s "$tmp/$m/$f" ] || fail "$m: run directory lacks $f"
  done
  grep -q "\"kind\": \"$m\"" "$tmp/$m/config.json" || fail "$m: config.json does not name the mixer"
  # the loss falls: the last train loss is below the first
  first=$(sed -n 2p "$tmp/$m/metrics.csv" | cut -d, -f2); last=$(tail -n 1 "$tmp/$m/metrics.csv" | cut -d, -f2)
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 0.3) }' || fail "$m: loss did not fall ($first -> $last)"
  # sampling: greedy is deterministic, the prompt is echoed, tokens are generated past the context (16)
  s1=$("$rotor" sample --model "$tmp/$m" --prompt "And God" --tokens 40 --temperature 0 2>"$tmp/slog") \
    || fail "$m: sample failed: $(cat "$tmp/slog")"
  s2=$("$rotor" sample --model "$tmp/$m" --prompt "And God" --tokens 40 --temperature 0 2>/dev/null)
  [ "$s1" == "$s2" ] || fail "$m: greedy sampling is not deterministic"
  [[ "$s1" == "And God"* ]] || fail "$m: sample does not start with the prompt: $s1"
  [ "$(printf '%s' "$s1" | wc -c)" -ge 47 ] || fail "$m: sample too short: $s1"
  grep -q "^decode_tokens/s=" "$tmp/slog" || fail "$m: sample does not report decode speed"
  "$rotor" sample --model "$tmp/$m" --prompt "And" --tokens 10 --temperature 1 --seed 3 >/dev/null 2>&1 \
    || fail "$m: temperature sampling failed"
done
# T5 and ALiBi relative biases on softmax attention (trained on the tape, decoded with a KV cache)
for pos in t5 alibi; do
  "$rotor" train "${small[@]}" --steps 30 --heads 2 --pos $pos --out "$tmp/$pos" >/dev/null 2>"$tmp/log" \
    || fail "--pos $pos: train failed: $(cat "$tmp/log")"
  grep -q "\"pos\": \"$pos\"" "$tmp/$pos/config.json" || fail "--pos $pos: config.json lacks the positions"
  first=$(sed -n 2p "$tmp/$pos/metrics.csv" | cut -d, -f2); last=$(tail -n 1 "$tmp/$pos/metrics.csv" | cut -d, -f2)
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a - 0.3) }' || fail "--pos $pos: loss did not fall ($first -> $last)"
  s1=$("$rotor" sample --model "$tmp/$pos" --prompt "And God" --tokens 30 --temperature 0 2>"$tmp/slog") \
    || fail "--pos $pos: sample failed: $(cat "$tmp/slog")"
  [[ "$s1" == "And God"* ]] || fail "--pos $pos: sample does not start with the prompt: $s1"
done
# without --window: strided and fixed take l = round(sqrt(ctx)) (4 at ctx 16, 5 at ctx 24), local its 32 cut to ctx
for m in strided fixed local; do
  for c in 16 24; do
    want=$c; [ $m == local ] || want=$([ $c == 16 ] && echo 4 || echo 5)
    "$rotor" train --data "$tmp/text.txt" --layers 1 --dim 16 --ctx $c --batch 2 --threads 1 --steps 1 --heads 2 \
      --mixer $m --out "$tmp/default-$m-$c" >/dev/null 2>&1 || fail "$m at ctx $c without --window failed"
    grep -q "\"window\": $want\b" "$tmp/default-$m-$c/config.json" \
      || fail "$m at ctx $c: default window is not $want: $(grep window "$tmp/default-$m-$c/config.json")"
  done
done
# the default mixer is today's fused model: no "mixer" key, an optimizer state for --resume
"$rotor" train "${small[@]}" --steps 4 --out "$tmp/softmax" >/dev/null 2>&1 || fail "default mixer failed"
grep -q mixer "$tmp/softmax/config.json" && fail "default run's config names a mixer"
[ -s "$tmp/softmax/optimizer.safetensors" ] || fail "default run lacks its optimizer state"

# expect_error PATTERN CMD...: non-zero exit, one `rotor: error: ...` line as the last, matching PATTERN,
# and no run directory created
expect_error() {
  local pattern=$1; shift
  local all code
  all=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ $code -lt 128 ] || fail "crashed ($code): $*"
  [ "$(grep -c "rotor: error" <<<"$all")" -eq 1 ] || fail "expected exactly one error line for $*: $all"
  [[ "$(tail -n 1 <<<"$all")" == "rotor: error: "*"$pattern"* ]] || fail "error for $* does not mention '$pattern': $all"
  [ ! -e "$tmp/bad" ] || fail "a failed run left $tmp/bad behind: $*"
}
bad=("${small[@]}" --steps 2 --out "$tmp/bad")
expect_error "unknown mixer 'transformer'" "$rotor" train "${bad[@]}" --mixer transformer
expect_error "--features applies to the performer mixer, not to --mixer linear" "$rotor" train "${bad[@]}" --mixer linear --features 8
expect_error "--redraw applies to the performer mixer" "$rotor" train "${bad[@]}" --mixer rnn --redraw 5
expect_error "--window applies to the local, strided and fixed mixers" "$rotor" train "${bad[@]}" --mixer mamba --window 4
expect_error "--window applies to the local, strided and fixed mixers" "$rotor" train "${bad[@]}" --window 4
expect_error "--summary applies to the fixed mixer" "$rotor" train "${bad[@]}" --mixer local --summary 2
expect_error "--state applies to the s4d and mamba mixers" "$rotor" train "${bad[@]}" --mixer gru --state 4
expect_error "--heads applies to the softmax, linear" "$rotor" train "${bad[@]}" --mixer lstm --heads 2
expect_error "--kv-heads applies to the softmax mixer" "$rotor" train "${bad[@]}" --mixer linear --kv-heads 1
expect_error "--features must be >= 1, got 0" "$rotor" train "${bad[@]}" --mixer performer --features 0
expect_error "--features must be >= 1, got -4" "$rotor" train "${bad[@]}" --mixer performer --features -4
expect_error "--redraw must be >= 0" "$rotor" train "${bad[@]}" --mixer performer --redraw -1
expect_error "--window must be between 1 and the context length (--ctx 16), got 17" "$rotor" train "${bad[@]}" --mixer local --window 17
expect_error "--window must be between 1 and the context length" "$rotor" train "${bad[@]}" --mixer strided --window 0
expect_error "--summary must be between 1 and --window (4), got 5" "$rotor" train "${bad[@]}" --mixer fixed --window 4 --summary 5
expect_error "--state must be >= 1" "$rotor" train "${bad[@]}" --mixer s4d --state 0
expect_error "--chunk must be >= 1" "$rotor" train "${bad[@]}" --mixer flash --chunk 0
expect_error "--pos rope applies to the softmax and linear mixers only, not to --mixer gru" "$rotor" train "${bad[@]}" --mixer gru --pos rope
expect_error "--pos t5 applies to the softmax mixer only, not gru" "$rotor" train "${bad[@]}" --mixer gru --pos t5
expect_error "--pos alibi: needs kv_heads == heads" "$rotor" train "${bad[@]}" --heads 4 --kv-heads 2 --pos alibi
expect_error "--profile applies to the softmax mixer with rope" "$rotor" train "${bad[@]}" --pos alibi --profile
expect_error "unknown position encoding 'relative'" "$rotor" train "${bad[@]}" --pos relative
expect_error "already holds 30 steps" "$rotor" train --data "$tmp/text.txt" --resume "$tmp/gru" --threads 1
expect_error "--mixer cannot be changed" "$rotor" train --data "$tmp/text.txt" --resume "$tmp/softmax" --mixer gru --steps 8 --threads 1
# a damaged mixer run: a missing parameter, an unknown mixer key
cp -r "$tmp/mamba" "$tmp/broken"
sed -i 's/"kind": "mamba"/"kind": "mamba", "window": 3/' "$tmp/broken/config.json"
expect_error "mixer key 'window' does not apply to the mamba mixer" "$rotor" sample --model "$tmp/broken" --tokens 3
cp "$tmp/gru/model.safetensors" "$tmp/broken/model.safetensors"
cp "$tmp/mamba/config.json" "$tmp/broken/config.json"
expect_error "missing parameter" "$rotor" sample --model "$tmp/broken" --tokens 3
echo "mixer tests passed"
