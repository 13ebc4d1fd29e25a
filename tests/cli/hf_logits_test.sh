#!/usr/bin/env bash
# `rotor logits` on Hugging Face LLaMA directories (tests/models/data/llama, made by
# tests/models/make_llama_reference.py): the NPY output has shape [T, vocab] and its last row (which every
# RoPE setting affects) matches the float64 reference; bad checkpoints give one `rotor: error:` line and
# leave no output behind.
set -uo pipefail
rotor=$1
src=${ROTOR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data="$src/tests/models/data/llama"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

expect_error() {
  local pattern=$1; shift
  local all code
  all=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ $code -lt 128 ] || fail "crashed ($code): $*"
  [ "$(wc -l <<<"$all")" -eq 1 ] || fail "expected one line for $*: $all"
  [[ "$all" == "rotor: error: "* ]] || fail "unexpected error text for $*: $all"
  grep -q -- "$pattern" <<<"$all" || fail "error for $* does not mention '$pattern': $all"
}

# One case of reference.json (a single line; cases hold no nested objects).
case_json() { grep -o "{\"name\": \"$1\"[^}]*}" "$data/reference.json"; }

check_case() {
  local name=$1 json ids T V expected out offset
  json=$(case_json "$name") || fail "no reference for $name"
  ids=$(sed -E 's/.*"ids": \[([^]]*)\].*/\1/' <<<"$json" | tr -d ' ')
  T=$(tr ',' '\n' <<<"$ids" | wc -l)
  expected=$(grep -o '\[[^][]*\]\]}$' <<<"$json" | tr -d '[]}' | tr ',' '\n' | tr -d ' ')
  V=$(wc -l <<<"$expected")
  out="$tmp/$name.npy"
  "$rotor" logits --model "$data/$name" --ids "$ids" --out "$out" --threads 1 || fail "logits failed for $name"
  head -c 6 "$out" | grep -q "NUMPY" || fail "$name: not an NPY file"
  grep -a -q "'descr': '<f4', 'fortran_order': False, 'shape': ($T, $V)" "$out" || fail "$name: header is not <f4 ($T, $V)"
  # NPY 1.0: 10 bytes + header length (u16 little-endian at byte 8)
  offset=$((10 + $(od -A n -t u2 -j 8 -N 2 "$out" | tr -d ' ')))
  [ "$(stat -c %s "$out")" -eq $((offset + 4 * T * V)) ] || fail "$name: wrong file size"
  od -A n -v -t f4 -j $((offset + 4 * (T - 1) * V)) "$out" | tr -s ' ' '\n' | grep -v '^$' > "$tmp/got"
  paste -d ' ' "$tmp/got" <(echo "$expected") | awk -v name="$name" '
    { d = $1 - $2; if (d < 0) d = -d; if (d > diff) diff = d; b = $2 < 0 ? -$2 : $2; if (b > scale) scale = b; n++ }
    END { if (n == 0 || diff / scale > 1e-5) { printf "FAIL: %s: relative error %g over %d values\n", name, diff / scale, n; exit 1 } }' \
    || exit 1
}

check_case gqa_untied              # grouped key/value heads
check_case mha_tied_bf16           # tied head, BF16 weights
check_case partial_sharded         # three shards, partial rotary
check_case dynamic_long            # dynamic NTK beyond max_position_embeddings
check_case yarn_attention_partial  # YaRN with attention factor, explicit head_dim

# Bad checkpoints: one error line, no output file, an existing output untouched.
cp -r "$data/gqa_untied" "$tmp/mistral"
sed -i 's/"model_type": "llama"/"model_type": "mistral"/' "$tmp/mistral/config.json"
expect_error "model_type" "$rotor" logits --model "$tmp/mistral" --ids 1,2 --out "$tmp/x.npy"
cp -r "$data/gqa_untied" "$tmp/unknown"
sed -i 's/"vocab_size": 48/"vocab_size": 48, "sliding_window": 4096/' "$tmp/unknown/config.json"
expect_error "sliding_window" "$rotor" logits --model "$tmp/unknown" --ids 1,2 --out "$tmp/x.npy"
cp -r "$data/gqa_untied" "$tmp/llama3"
sed -i 's/"rope_scaling": null/"rope_scaling": {"rope_type": "llama3", "factor": 8.0}/' "$tmp/llama3/config.json"
expect_error "'llama3' is not supported" "$rotor" logits --model "$tmp/llama3" --ids 1,2 --out "$tmp/x.npy"
cp -r "$data/gqa_untied" "$tmp/kv"
sed -i 's/"num_key_value_heads": 2/"num_key_value_heads": 1/' "$tmp/kv/config.json"
expect_error "k_proj.weight has shape" "$rotor" logits --model "$tmp/kv" --ids 1,2 --out "$tmp/x.npy"
cp -r "$data/partial_sharded" "$tmp/shard"
rm "$tmp/shard/model-00002-of-00003.safetensors"
expect_error "model-00002-of-00003.safetensors" "$rotor" logits --model "$tmp/shard" --ids 1,2 --out "$tmp/x.npy"
cp -r "$data/gqa_untied" "$tmp/truncated"
head -c 3000 "$data/gqa_untied/model.safetensors" > "$tmp/truncated/model.safetensors"
expect_error "model.safetensors" "$rotor" logits --model "$tmp/truncated" --ids 1,2 --out "$tmp/x.npy"
expect_error "outside the vocabulary" "$rotor" logits --model "$data/gqa_untied" --ids 1,48 --out "$tmp/x.npy"
[ ! -e "$tmp/x.npy" ] || fail "a failed logits run left an output file"

cp "$tmp/gqa_untied.npy" "$tmp/keep.npy"
sum=$(md5sum < "$tmp/keep.npy")
expect_error "model_type" "$rotor" logits --model "$tmp/mistral" --ids 1,2 --out "$tmp/keep.npy"
[ "$(md5sum < "$tmp/keep.npy")" == "$sum" ] || fail "a failed logits run changed an existing output"
echo "hf_logits_test: ok"
