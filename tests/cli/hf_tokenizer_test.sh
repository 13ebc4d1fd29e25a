#!/usr/bin/env bash
# `rotor sample --prompt TEXT` on Hugging Face directories with their own tokenizer: the prompt's ids
# (--show-ids) equal Hugging Face's for two byte-level BPE tokenizer.json files (GPT-2 and LLaMA 3 style;
# expected ids from tests/models/make_hf_tokenizer_reference.py) and for a sentencepiece tokenizer.model
# (ids from spm_encode in tests/text/reference/sentencepiece, BOS first); generation_config.json's defaults
# (greedy, max_new_tokens, eos_token_id) are honoured and overridden by options; text in, text out.
set -euo pipefail
rotor=$1
src=${ROTOR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# a tiny random LLaMA with VOCAB tokens: DIR
make_model() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, os, struct, sys, numpy as np
d, V = sys.argv[1], int(sys.argv[2]); D, L, F = 16, 1, 24
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(3)
t = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
for n, s in [("input_layernorm", (D,)), ("post_attention_layernorm", (D,)), ("self_attn.q_proj", (D, D)), ("self_attn.k_proj", (D, D)),
             ("self_attn.v_proj", (D, D)), ("self_attn.o_proj", (D, D)), ("mlp.gate_proj", (F, D)), ("mlp.up_proj", (F, D)), ("mlp.down_proj", (D, F))]:
    t[f"model.layers.0.{n}.weight"] = s
a = {k: (np.ones(s) if len(s) == 1 else rng.standard_normal(s)).astype(np.float32) for k, s in t.items()}
hdr, off = {}, 0
for k, x in a.items(): hdr[k] = {"dtype": "F32", "shape": list(x.shape), "data_offsets": [off, off + x.nbytes]}; off += x.nbytes
h = json.dumps(hdr).encode(); h += b" " * ((-len(h)) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as f: f.write(struct.pack("<Q", len(h)) + h); [f.write(x.tobytes()) for x in a.values()]
json.dump({"model_type": "llama", "hidden_size": D, "intermediate_size": F, "num_hidden_layers": L, "num_attention_heads": 2,
           "num_key_value_heads": 2, "vocab_size": V, "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2}, open(os.path.join(d, "config.json"), "w"))
PY
}

# byte-level BPE tokenizer.json files
for style in gpt2_style llama3_style; do
  m="$tmp/$style"; make_model "$m" 1001
  cp "$src/tests/models/data/tokenizers/$style/tokenizer.json" "$m/"
  n=$(/usr/bin/python3 -c "import json; print(len(json.load(open('$src/tests/models/data/tokenizers/$style/expected.json'))))")
  for i in $(seq 0 $((n - 1))); do
    text=$(/usr/bin/python3 -c "import json,sys; sys.stdout.write(json.load(open('$src/tests/models/data/tokenizers/$style/expected.json'))[$i][0] + '.')")
    text=${text%.}
    want=$(/usr/bin/python3 -c "import json; print(','.join(map(str, json.load(open('$src/tests/models/data/tokenizers/$style/expected.json'))[$i][1])))")
    got=$("$rotor" sample --model "$m" --prompt "$text" --tokens 0 --show-ids 2>/dev/null | head -n 1)
    [ "$got" = "$want" ] || fail "$style case $i: got $got, want $want"
  done
done

# sentencepiece tokenizer.model (LLaMA 1/2 style): BOS 1, then spm_encode's ids
m="$tmp/spm"; make_model "$m" 400
ref="$src/tests/text/reference/sentencepiece"
cp "$ref/bpe_nfkc_bytes.model" "$m/tokenizer.model"
for line in 1 5; do
  text=$(sed -n "${line}p" "$ref/input.txt")
  want=1,$(sed -n "${line}p" "$ref/bpe_nfkc_bytes.ids" | tr ' ' ',')
  got=$("$rotor" sample --model "$m" --prompt "$text" --tokens 0 --show-ids 2>/dev/null | head -n 1)
  [ "$got" = "$want" ] || fail "sentencepiece line $line: got $got, want $want"
done
echo '{"add_bos_token": false}' >"$m/tokenizer_config.json"
got=$("$rotor" sample --model "$m" --prompt "$(sed -n 1p "$ref/input.txt")" --tokens 0 --show-ids 2>/dev/null | head -n 1)
[ "$got" = "$(sed -n 1p "$ref/bpe_nfkc_bytes.ids" | tr ' ' ',')" ] || fail "add_bos_token false: $got"

# generation_config.json: do_sample false (greedy) and max_new_tokens as defaults; eos stops; options override
m="$tmp/gpt2_style"
greedy=$("$rotor" sample --model "$m" --prompt "Hello world" --temperature 0 --tokens 6 --ignore-eos --show-ids 2>/dev/null | sed -n 2p)
[ "$(tr ',' '\n' <<<"$greedy" | wc -l)" -eq 6 ] || fail "greedy: $greedy"
echo '{"do_sample": false, "max_new_tokens": 4, "eos_token_id": 1000}' >"$m/generation_config.json"
got=$("$rotor" sample --model "$m" --prompt "Hello world" --show-ids 2>/dev/null | sed -n 2p)
[ "$got" = "$(cut -d, -f1-4 <<<"$greedy")" ] || fail "generation_config defaults: $got, greedy $greedy"
got=$("$rotor" sample --model "$m" --prompt "Hello world" --tokens 6 --show-ids 2>/dev/null | sed -n 2p)
[ "$got" = "$greedy" ] || fail "--tokens over max_new_tokens: $got"
first=$(cut -d, -f1 <<<"$greedy")
echo "{\"do_sample\": false, \"max_new_tokens\": 4, \"eos_token_id\": [999, $first]}" >"$m/generation_config.json"
got=$("$rotor" sample --model "$m" --prompt "Hello world" --show-ids 2>/dev/null | sed -n 2p)
[ "$got" = "$first" ] || fail "eos_token_id: expected a stop after $first, got $got"
got=$("$rotor" sample --model "$m" --prompt "Hello world" --ignore-eos --show-ids 2>/dev/null | sed -n 2p)
[ "$got" = "$(cut -d, -f1-4 <<<"$greedy")" ] || fail "--ignore-eos: $got"
echo '{"do_sample": true, "temperature": 0.9, "top_k": 5, "max_new_tokens": 5}' >"$m/generation_config.json"
a=$("$rotor" sample --model "$m" --prompt "Hello world" --seed 1 --show-ids 2>/dev/null | sed -n 2p)
b=$("$rotor" sample --model "$m" --prompt "Hello world" --seed 1 --show-ids 2>/dev/null | sed -n 2p)
[ "$a" = "$b" ] && [ "$(tr ',' '\n' <<<"$a" | wc -l)" -eq 5 ] || fail "sampling defaults: $a / $b"
got=$("$rotor" sample --model "$m" --prompt "Hello world" --temperature 0 --show-ids 2>/dev/null | sed -n 2p)
[ "$got" = "$(cut -d, -f1-5 <<<"$greedy")" ] || fail "--temperature 0 over do_sample: $got"
# text out: the prompt, then the decoded continuation
rm "$m/generation_config.json"
out=$("$rotor" sample --model "$m" --prompt "Hello world" --temperature 0 --tokens 6 --ignore-eos 2>/dev/null)
want=$(/usr/bin/python3 -c "
import json
tj = json.load(open('$m/tokenizer.json')); inv = {v: k for k, v in tj['model']['vocab'].items()}
bs = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100)); cs = bs[:]; n = 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256 + n); n += 1
u2b = {chr(c): b for b, c in zip(bs, cs)}
print('Hello world' + bytes(u2b[ch] for i in '$greedy'.split(',') for ch in inv[int(i)]).decode('utf-8', 'replace'))")
[ "$out" = "$want" ] || fail "text output '$out' != '$want'"
echo ok
