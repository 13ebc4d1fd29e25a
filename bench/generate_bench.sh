#!/usr/bin/env bash
# Generation speed of `rotor sample` on a Hugging Face LLaMA directory against llama.cpp (npm's
# node-llama-cpp 3.22.1, timed by ../shared/peers/llamacpp_bench.mjs) on the same random-weight model
# (../shared/peers/gguf_llama.py writes it as GGUF f32 and as an HF directory). Two sizes:
#   24M:  dim 320, 8 layers, 5 heads, ffn 960, vocab 21000
#   134M: dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000
# at 1 and 2 threads, prompt 128 tokens (300 + (i * 7919) % 20000), 128 generated greedily. Prints both
# sides' prompt and decode tokens/s and the ratios rotor / llama.cpp (best of REPEAT alternating runs
# each), then checks that rotor's greedy tokens equal `rotor logits`' argmax over the same sequence and
# says whether llama.cpp's greedy tokens agree with rotor's.
# Models are cached under ~/.cache/rotor/; node-llama-cpp is installed into $LLAMACPP_DIR when missing.
# Usage: bench/generate_bench.sh [path/to/rotor | build-dir]
#   env: SIZES="24m 134m", THREADS_LIST="1 2", REPEAT=2, DTYPE=f32 (rotor's --dtype), LLAMACPP_DIR=/tmp/rotor-llamacpp
set -euo pipefail
rotor=${1:-build/bin/rotor}
[ -d "$rotor" ] && rotor=$rotor/bin/rotor
rotor=$(realpath "$rotor")
here=$(cd "$(dirname "$0")" && pwd)
peers=$here/../../shared/peers
[ -f "$peers/gguf_llama.py" ] || peers=/work/shared/peers
repeat=${REPEAT:-2}
dtype=${DTYPE:-f32}
ngen=128
nprompt=128
cache=${XDG_CACHE_HOME:-$HOME/.cache}/rotor
mkdir -p "$cache"
npmdir=${LLAMACPP_DIR:-/tmp/rotor-llamacpp}
if [ ! -d "$npmdir/node_modules/node-llama-cpp" ]; then
  echo "generate_bench: installing node-llama-cpp@3.22.1 into $npmdir" >&2
  mkdir -p "$npmdir" && (cd "$npmdir" && npm install --silent node-llama-cpp@3.22.1 >&2)
fi
cp "$peers/llamacpp_bench.mjs" "$here/llamacpp_tokens.mjs" "$npmdir/"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ids=$(/usr/bin/python3 -c "print(','.join(str(300 + (i * 7919) % 20000) for i in range($nprompt)))")
field() { sed -n "s#.*$1=\([0-9.]*\).*#\1#p"; }
best() { sort -g | tail -n 1; }
ratio() { /usr/bin/python3 -c "print(f'{$1 / $2:.2f}')"; }

printf '%-5s %-7s %12s %12s %6s %12s %12s %6s\n' size threads rotor_prompt llama_prompt ratio rotor_decode llama_decode ratio
status=0
for size in ${SIZES:-24m 134m}; do
  case $size in
    24m) shape="320 8 5 960 21000" ;;
    134m) shape="768 12 12 2048 32000" ;;
    *) echo "generate_bench: unknown size $size (24m or 134m)"; exit 1 ;;
  esac
  gguf=$cache/llama-$size.gguf
  if [ ! -f "$gguf.hf/model.safetensors" ]; then
    echo "generate_bench: writing $gguf and $gguf.hf" >&2
    /usr/bin/python3 "$peers/gguf_llama.py" "$gguf.tmp" $shape >&2
    rm -rf "$gguf.hf"; mv "$gguf.tmp.hf" "$gguf.hf"; mv "$gguf.tmp" "$gguf"
  fi
  for t in ${THREADS_LIST:-1 2}; do
    rp=(); rd=(); lp=(); ld=()
    for r in $(seq 1 "$repeat"); do
      OMP_NUM_THREADS=$t "$rotor" sample --model "$gguf.hf" --ids "$ids" --tokens $ngen --temperature 0 --ignore-eos --dtype "$dtype" \
        --threads "$t" >"$tmp/rotor.$size" 2>"$tmp/err"
      rp+=("$(tail -n 2 "$tmp/err" | field prompt_tokens/s)"); rd+=("$(tail -n 1 "$tmp/err" | field decode_tokens/s)")
      line=$(cd "$npmdir" && node llamacpp_bench.mjs "$gguf" "$t" $ngen $nprompt)
      lp+=("$(field prompt_tok/s <<<"$line")"); ld+=("$(field gen_tok/s <<<"$line")")
    done
    a=$(printf '%s\n' "${rp[@]}" | best); b=$(printf '%s\n' "${lp[@]}" | best)
    c=$(printf '%s\n' "${rd[@]}" | best); d=$(printf '%s\n' "${ld[@]}" | best)
    printf '%-5s %-7s %12s %12s %6s %12s %12s %6s\n' "$size" "$t" "$a" "$b" "$(ratio "$a" "$b")" "$c" "$d" "$(ratio "$c" "$d")"
  done
  # rotor's greedy tokens against `rotor logits`' argmax over prompt + generated (all but the last)
  got=$(cat "$tmp/rotor.$size")
  "$rotor" logits --model "$gguf.hf" --ids "$ids,${got%,*}" --out "$tmp/l.npy"
  want=$(/usr/bin/python3 -c "import numpy as np; print(','.join(map(str, np.load('$tmp/l.npy').argmax(1)[$nprompt - 1:])))")
  if [ "$got" = "$want" ]; then echo "$size: rotor sample's $ngen greedy tokens equal rotor logits' argmax"
  else echo "$size: MISMATCH: rotor sample's greedy tokens differ from rotor logits' argmax"; status=1; fi
  peer=$(cd "$npmdir" && node llamacpp_tokens.mjs "$gguf" $ngen $nprompt)
  same=$(/usr/bin/python3 -c "
a, b = '$got'.split(','), '$peer'.split(',')
n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
print(n)")
  if [ "$peer" = "$got" ]; then echo "$size: llama.cpp's greedy tokens equal rotor's"
  else echo "$size: llama.cpp's greedy tokens agree with rotor's for the first $same of $ngen"; fi
done
exit $status
