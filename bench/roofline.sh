#!/usr/bin/env bash
# Issue 12 part 3's MLP against this machine's bounds: the step floor of build/bin/roofline_bench
# (the eight products with warm caches + the SGD momentum pass; it leaves out activations, the loss and
# cold-cache trips) beside rotor's and PyTorch's measured steps (bench/autograd_bench.sh's programs), in
# one run. `best ratio` = torch_ms / floor: the speedup a step that costs only its floor would reach.
# Usage: bench/roofline.sh [BUILD_DIR] [THREADS]   env: STEPS=30
set -euo pipefail
build=${1:-build}
threads=${2:-1}
steps=${STEPS:-30}
here=$(cd "$(dirname "$0")" && pwd)
limits=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
        MKL_NUM_THREADS=$threads OMP_WAIT_POLICY=passive)
bounds=$("${limits[@]}" "$build/bin/roofline_bench" "$threads")
rotor=$("${limits[@]}" "$build/bin/autograd_bench" "$threads" "$steps" mlp)
torch=$("${limits[@]}" /usr/bin/python3 "$here/autograd_torch.py" "$threads" "$steps")
echo "MLP 784-1024-1024-10 batch 128 against the machine's bounds, $threads thread(s), $(date -u +%Y-%m-%d)"
echo "$bounds" | grep -v '^bound_'
value() { echo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
printf '%-14s %9s %9s %9s %10s %10s\n' model floor_ms rotor_ms torch_ms rotor/floor best_ratio
for dtype in f32 bf16; do
  floor=$(value "$bounds" "bound_${dtype}_ms")
  r=$(value "$rotor" "mlp_sgd_$dtype")
  t=$(value "$torch" "mlp_sgd_$dtype")
  awk -v m="mlp_sgd_$dtype" -v f="$floor" -v r="$r" -v t="$t" \
    'BEGIN { printf "%-14s %9.2f %9.2f %9.2f %10.2f %10.2f\n", m, f, r, t, r / f, t / f }'
done
echo "target (1 thread): rotor >= 1.5x torch, i.e. rotor_ms <= torch_ms / 1.5"
