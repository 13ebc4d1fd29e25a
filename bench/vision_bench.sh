#!/usr/bin/env bash
# Training steps per second of the `rotor vision` models against the PyTorch peer (bench/vision_peer.py,
# same architecture, AdamW, batch 64) at 1 and 2 threads, in the same run:
#   bash bench/vision_bench.sh [build/bin/rotor] [steps] [models] [thread counts]
#   e.g. bash bench/vision_bench.sh build/bin/rotor 200 "vqvae" "1"   (defaults: all models, "1 2")
#   (dcgan: a step is one discriminator and one generator update)
# Prints one row per model and thread count: rotor steps/s, peer steps/s, ratio (rotor / peer).
set -euo pipefail
rotor=${1:-build/bin/rotor}
steps=${2:-200}
models=${3:-cnn vae nade made vqvae dcgan}
thread_counts=${4:-1 2}
here=$(cd "$(dirname "$0")" && pwd)
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf "%-6s %7s %12s %12s %7s\n" model threads rotor_step/s torch_step/s ratio
for model in $models; do
  for threads in $thread_counts; do
    OMP_NUM_THREADS=$threads "$rotor" vision train --model "$model" --out "$tmp/$model" --max-steps "$steps" --train-limit 20000 \
      --test-limit 50 --batch 64 --threads "$threads" >/dev/null 2>&1
    ours=$(/usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['steps']/m['train_seconds'])" \
      "$tmp/$model/metrics.json")
    peer=$(OMP_NUM_THREADS=$threads /usr/bin/python3 "$here/vision_peer.py" speed --model "$model" --steps "$steps" --threads "$threads" |
      awk '/steps_per_second/ {print $2}')
    printf "%-6s %7d %12.2f %12.2f %7.2f\n" "$model" "$threads" "$ours" "$peer" \
      "$(/usr/bin/python3 -c "print($ours / $peer)")"
    rm -rf "$tmp/$model"
  done
done
