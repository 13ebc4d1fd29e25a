#!/usr/bin/env bash
# dcgan against its PyTorch peer (bench/vision_peer.py train --model dcgan: same architecture, DCGAN init,
# Adam 2e-4 (0.5, 0.999), constant lr, batch 64) over several seeds: a GAN has no final test figure the two
# sides share, so the figure is the mean discriminator and generator loss over the last 200 steps (rotor's
# metrics.csv rows and the peer's printed rows are means over 50 steps each).
#   bash bench/dcgan_seeds.sh "SEEDS" STEPS [build/bin/rotor] [threads]
#   e.g. LOCK=/tmp/rotor-heavy.lock bash bench/dcgan_seeds.sh "1 2 3" 600
# Prints one row per seed and side, then per loss the mean and sample sd per side, the difference of
# means and its ratio to the standard error of that difference; |ratio| < 2 is reported as "within noise".
set -euo pipefail
seeds=${1:?seeds}
steps=${2:?steps}
rotor=${3:-build/bin/rotor}
threads=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
(( steps >= 200 && steps % 50 == 0 )) || { echo "rotor: error: dcgan_seeds: STEPS must be a multiple of 50, >= 200" >&2; exit 2; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
run() { if [[ -n "${LOCK:-}" ]]; then flock "$LOCK" "$@"; else "$@"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows
from=$((steps - 150))  # rows at steps - 150 .. steps cover steps - 199 .. steps
for seed in $seeds; do
  OMP_NUM_THREADS=$threads run "$rotor" vision train --model dcgan --out "$tmp/r$seed" --seed "$seed" \
    --max-steps "$steps" --constant-lr --batch 64 --threads "$threads" >"$tmp/r$seed.log" 2>&1
  ours=$(awk -F, -v from="$from" 'NR == 1 {for (i = 1; i <= NF; ++i) c[$i] = i; next}
    $1 >= from {d += $c["discriminator_loss"]; g += $c["generator_loss"]; n++}
    END {if (n != 4) exit 1; printf "%.4f %.4f", d / n, g / n}' "$tmp/r$seed/metrics.csv") ||
    { echo "rotor: error: dcgan_seeds: rotor's metrics.csv lacks the last 200 steps" >&2; exit 1; }
  echo "rotor seed $seed $ours" | tee -a "$rows"
  OMP_NUM_THREADS=$threads run /usr/bin/python3 "$here/vision_peer.py" train --model dcgan --seed "$seed" \
    --steps "$steps" --batch 64 --threads "$threads" >"$tmp/p$seed.log" 2>&1
  peer=$(awk -v from="$from" '$1 == "step" && $2 >= from {d += $4; g += $6; n++}
    END {if (n != 4) exit 1; printf "%.4f %.4f", d / n, g / n}' "$tmp/p$seed.log") ||
    { echo "rotor: error: dcgan_seeds: the peer printed no loss rows:" >&2; cat "$tmp/p$seed.log" >&2; exit 1; }
  echo "peer  seed $seed $peer" | tee -a "$rows"
done
/usr/bin/python3 "$here/seed_compare.py" "$rows" "dcgan $steps steps, mean of the last 200 steps," \
  3:discriminator_loss 4:generator_loss
