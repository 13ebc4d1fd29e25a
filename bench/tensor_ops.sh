#!/bin/bash
# Tensor kernels and autograd vs PyTorch on the same workloads, one thread by default.
# Usage: bench/tensor_ops.sh [BUILD_DIR] [THREADS]. Prints op, rotor ms, torch ms, speedup (torch/rotor).
set -euo pipefail
build=${1:-build}
threads=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
rotor_out=$(OMP_NUM_THREADS=$threads "$build/bin/tensor_ops_bench" "$threads")
# PyTorch's f32 matmuls run on OpenBLAS with its own kernel choice (this workplace's OPENBLAS_CORETYPE
# would select older, slower ones; see bench/gpt_bench.sh)
torch_out=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads \
  /usr/bin/python3 "$here/tensor_ops_torch.py" "$threads")
printf '%-34s %10s %10s %8s\n' op rotor_ms torch_ms speedup
join <(echo "$rotor_out" | sort) <(echo "$torch_out" | sort) |
  awk '{ printf "%-34s %10.3f %10.3f %8.2f\n", $1, $2, $3, $3 / $2 }'
