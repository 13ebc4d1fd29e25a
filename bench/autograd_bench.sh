#!/usr/bin/env bash
# Autograd training speed against PyTorch 1.13 on the same models, 1 thread by default:
#   mlp 784-1024-1024-10 (batch 128, ReLU, cross-entropy; SGD momentum, AdamW; f32 and bf16 autocast),
#   the small CNN (conv 3x3 32, pool, conv 3x3 64, pool, linear 128, linear 10; batch 64, SGD momentum), and
#   the demo's GPT (4 layers, 256 wide, ctx 256, batch 8, AdamW) built from autograd/nn modules
#   (rotor/models/autograd_gpt.h) vs the PyTorch peer ../shared/peers/torch_gpt.py, f32 and bf16 autocast.
# rotor: build/bin/autograd_bench; PyTorch: bench/autograd_torch.py (MLP) and the peer (GPT).
# PyTorch's f32 matmuls need OpenBLAS (libopenblas0-pthread; with Debian's reference libblas3 PyTorch is
# ~30x slower here and the comparison means nothing, so the script refuses). Like bench/gpt_bench.sh the
# peer runs without this workplace's OPENBLAS_CORETYPE=Haswell (OpenBLAS's own, faster kernel choice: the
# stricter comparison) and, for f32, also as the environment is ("as is").
# Prints per model: rotor ms/step, torch ms/step, speedup (torch / rotor); for the GPT also tokens/s.
# Per-op times of rotor's side: ROTOR_PROFILE=1 build/bin/autograd_bench 1 20 (table on stderr).
# Usage: bench/autograd_bench.sh [BUILD_DIR] [THREADS]   env: STEPS=20 (MLP), GPT_STEPS=10
set -euo pipefail
build=${1:-build}
threads=${2:-1}
steps=${STEPS:-20}
gpt_steps=${GPT_STEPS:-10}
here=$(cd "$(dirname "$0")" && pwd)
peer=${PEER:-$here/../../shared/peers/torch_gpt.py}
[ -f "$peer" ] || peer=/work/shared/peers/torch_gpt.py
[ -f "$peer" ] || { echo "autograd_bench: the PyTorch peer torch_gpt.py was not found (set PEER=)"; exit 1; }
if ! /usr/bin/python3 -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("openblas") else 1)'; then
  echo "autograd_bench: OpenBLAS is not installed (apt-get install libopenblas0-pthread); PyTorch would run on the reference BLAS"
  exit 1
fi
limits=(OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OMP_WAIT_POLICY=passive)
strict=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${limits[@]}")
as_is=(env "${limits[@]}")
data=$(mktemp); trap 'rm -f "$data"' EXIT
bible "gen1:1-rev22:21" > "$data"

rotor_mlp=$("${strict[@]}" "$build/bin/autograd_bench" "$threads" "$steps" mlp
           "${strict[@]}" "$build/bin/autograd_bench" "$threads" "$steps" cnn)
torch_mlp=$("${strict[@]}" /usr/bin/python3 "$here/autograd_torch.py" "$threads" "$steps")
torch_mlp_as_is=$("${as_is[@]}" /usr/bin/python3 "$here/autograd_torch.py" "$threads" "$steps" | grep f32)
rotor_gpt=$("${strict[@]}" "$build/bin/autograd_bench" "$threads" "$gpt_steps" gpt)
peer_ms() { sed -n 's/.*median_step=\([0-9.]*\)ms.*/\1/p'; }
torch_gpt="gpt_f32 $("${strict[@]}" /usr/bin/python3 "$peer" --data "$data" --steps $((gpt_steps + 3)) --threads "$threads" | peer_ms)
gpt_bf16 $("${strict[@]}" /usr/bin/python3 "$peer" --data "$data" --steps $((gpt_steps + 3)) --threads "$threads" --bf16 | peer_ms)"
torch_gpt_as_is="gpt_f32 $("${as_is[@]}" /usr/bin/python3 "$peer" --data "$data" --steps $((gpt_steps + 3)) --threads "$threads" | peer_ms)"

echo "autograd training steps, $threads thread(s), $(date -u +%Y-%m-%d)"
printf '%-16s %10s %10s %8s %12s %12s\n' model rotor_ms torch_ms speedup rotor_tok/s torch_tok/s
report() {  # $1: rotor lines, $2: torch lines, $3: suffix for the model name
  join <(echo "$1" | sort) <(echo "$2" | sort) | awk -v sfx="$3" '{
    tok = ($1 ~ /^gpt/) ? sprintf("%12.0f %12.0f", 2048000 / $2, 2048000 / $3) : ""
    printf "%-16s %10.2f %10.2f %8.2f %s\n", $1 sfx, $2, $3, $3 / $2, tok }'
}
report "$rotor_mlp" "$torch_mlp" ""
report "$rotor_mlp" "$torch_mlp_as_is" " (as is)"
report "$rotor_gpt" "$torch_gpt" ""
report "$rotor_gpt" "$torch_gpt_as_is" " (as is)"
echo "targets (1 thread): mlp >= 1.5x, gpt >= 1.2x tokens/s; '(as is)': PyTorch with this environment's OPENBLAS_CORETYPE"
