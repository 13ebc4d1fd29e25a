#!/usr/bin/env bash
# Bad Hugging Face directories and options for `rotor sample` / `rotor logits`: a broken
# model.safetensors.index.json, a missing shard, a tokenizer.json of an unknown model type, an unknown
# --dtype: each a single `rotor: error:` line on stderr, exit 1, nothing on stdout and no output file.
set -euo pipefail
rotor=$1
src=${ROTOR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
model="$src/tests/models/data/llama/gqa_untied"
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# expect_error NAME PATTERN CMD...: one error line matching PATTERN, exit 1, empty stdout, no $tmp/out.npy
expect_error() {
  local name=$1 pattern=$2; shift 2
  set +e; "$@" >"$tmp/stdout" 2>"$tmp/stderr"; local code=$?; set -e
  [ $code -eq 1 ] || fail "$name: exit $code"
  [ "$(wc -l <"$tmp/stderr")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$tmp/stderr")"
  grep -q "^rotor: error: .*$pattern" "$tmp/stderr" || fail "$name: message $(cat "$tmp/stderr")"
  [ ! -s "$tmp/stdout" ] || fail "$name: wrote to stdout"
  [ ! -e "$tmp/out.npy" ] || fail "$name: wrote the output file"
}
mk() { rm -rf "$tmp/m"; mkdir "$tmp/m"; cp "$model/config.json" "$tmp/m/"; }
# broken index
mk; echo '{"weight_map": {' >"$tmp/m/model.safetensors.index.json"
expect_error "broken index" "index" "$rotor" sample --model "$tmp/m" --ids 1,2 --tokens 2
expect_error "broken index (logits)" "index" "$rotor" logits --model "$tmp/m" --ids 1,2 --out "$tmp/out.npy"
# missing shard
mk
names=$(/usr/bin/python3 -c "
import json, struct
f = open('$model/model.safetensors', 'rb'); n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n))
ks = [k for k in h if k != '__metadata__']
print(json.dumps({'metadata': {}, 'weight_map': {k: 'model-00002-of-00002.safetensors' for k in ks}}))")
echo "$names" >"$tmp/m/model.safetensors.index.json"
expect_error "missing shard" "model-00002-of-00002.safetensors" "$rotor" sample --model "$tmp/m" --ids 1,2 --tokens 2
expect_error "missing shard (logits)" "model-00002-of-00002.safetensors" "$rotor" logits --model "$tmp/m" --ids 1,2 --out "$tmp/out.npy"
# tokenizer.json of an unknown model type
mk; cp "$model/model.safetensors" "$tmp/m/"
echo '{"model": {"type": "WordPiece", "vocab": {}}}' >"$tmp/m/tokenizer.json"
expect_error "unknown tokenizer type" "model type 'WordPiece' is not supported" "$rotor" sample --model "$tmp/m" --prompt hi --tokens 2
echo '{"model": ' >"$tmp/m/tokenizer.json"
expect_error "broken tokenizer.json" "tokenizer.json: not valid JSON" "$rotor" sample --model "$tmp/m" --prompt hi --tokens 2
rm "$tmp/m/tokenizer.json"
expect_error "no tokenizer" "no tokenizer.json or tokenizer.model" "$rotor" sample --model "$tmp/m" --prompt hi --tokens 2
# unknown dtypes
expect_error "unknown --dtype" "--dtype: unknown dtype 'q8'" "$rotor" sample --model "$model" --ids 1,2 --dtype q8
expect_error "unknown --kv-dtype" "--kv-dtype: unknown dtype 'f8'" "$rotor" sample --model "$model" --ids 1,2 --kv-dtype f8
echo ok
