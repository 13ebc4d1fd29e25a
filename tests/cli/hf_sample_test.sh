#!/usr/bin/env bash
# `rotor sample` on a Hugging Face LLaMA directory (tests/models/data/llama/gqa_untied): the prompt as ids
# runs batched, greedy tokens (f32 and bf16 weights/cache) equal `rotor logits`' argmax of the whole
# sequence, the last two stderr lines are the speeds, and an unknown dtype is a one-line error.
set -euo pipefail
rotor=$1
src=${ROTOR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
model="$src/tests/models/data/llama/gqa_untied"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prompt=3,17,5,40
"$rotor" sample --model "$model" --ids $prompt --tokens 5 --temperature 0 --ignore-eos --threads 1 >"$tmp/out" 2>"$tmp/err"
tail -n 2 "$tmp/err" | head -n 1 | grep -q '^prompt_tokens/s=[0-9.]*$' || fail "no prompt_tokens/s line"
tail -n 1 "$tmp/err" | grep -q '^decode_tokens/s=[0-9.]*$' || fail "no decode_tokens/s line"
got=$(cat "$tmp/out")
[ "$(tr ',' '\n' <<<"$got" | wc -l)" -eq 5 ] || fail "expected 5 ids, got '$got'"
"$rotor" logits --model "$model" --ids "$prompt,${got%,*}" --out "$tmp/l.npy" --threads 1
want=$(/usr/bin/python3 -c "import numpy as np; print(','.join(map(str, np.load('$tmp/l.npy').argmax(1)[3:])))")
[ "$got" = "$want" ] || fail "greedy $got != logits argmax $want"
for dt in "--dtype bf16" "--kv-dtype bf16"; do
  "$rotor" sample --model "$model" --ids $prompt --tokens 5 --temperature 0 --ignore-eos $dt >"$tmp/o2" 2>/dev/null || fail "$dt failed"
  [ "$(tr ',' '\n' <"$tmp/o2" | wc -l)" -eq 5 ] || fail "$dt: wrong count"
done
set +e
all=$("$rotor" sample --model "$model" --ids $prompt --dtype q4 2>&1 >"$tmp/o3"); code=$?
set -e
[ $code -eq 1 ] || fail "unknown dtype exit $code"
[ "$all" = "rotor: error: --dtype: unknown dtype 'q4' (f32 or bf16)" ] || fail "unknown dtype message: $all"
[ ! -s "$tmp/o3" ] || fail "output written for a bad dtype"
echo ok
