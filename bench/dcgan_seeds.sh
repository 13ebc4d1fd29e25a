#!/usr/bin/env bash
# dcgan (or, with MODEL=wgan-gp, wgan-gp) against its PyTorch peer (bench/vision_peer.py train --model MODEL:
# same architecture, DCGAN init, the model's Adam settings, constant lr, batch 64) over several seeds. A GAN
# has no final test figure the two sides share, so the figures are training means over the last 200 steps
# (rotor's metrics.csv rows and the peer's printed rows are means over 50 steps each, of the steps that
# report the figure): dcgan the discriminator and generator losses; wgan-gp the critic's Wasserstein
# estimate, its gradient penalty and the generator loss.
#   bash bench/dcgan_seeds.sh "SEEDS" STEPS [build/bin/rotor] [threads]
#   e.g. LOCK=/tmp/rotor-heavy.lock bash bench/dcgan_seeds.sh "1 2 3" 600
#        MODEL=wgan-gp LOCK=/tmp/rotor-heavy.lock bash bench/dcgan_seeds.sh "1 2 3" 1000
# Prints one row per seed and side, then per figure the mean and sample sd per side, the difference of
# means and its ratio to the standard error of that difference; |ratio| < 2 is reported as "within noise".
set -euo pipefail
seeds=${1:?seeds}
steps=${2:?steps}
rotor=${3:-build/bin/rotor}
threads=${4:-2}
model=${MODEL:-dcgan}
here=$(cd "$(dirname "$0")" && pwd)
case $model in
  dcgan) figures="discriminator_loss generator_loss" ;;
  wgan-gp) figures="wasserstein gradient_penalty generator_loss" ;;
  *) echo "rotor: error: dcgan_seeds: MODEL must be dcgan or wgan-gp, not '$model'" >&2; exit 2 ;;
esac
(( steps >= 200 && steps % 50 == 0 )) || { echo "rotor: error: dcgan_seeds: STEPS must be a multiple of 50, >= 200" >&2; exit 2; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
run() { if [[ -n "${LOCK:-}" ]]; then flock "$LOCK" "$@"; else "$@"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows
from=$((steps - 150))  # rows at steps - 150 .. steps cover steps - 199 .. steps
for seed in $seeds; do
  OMP_NUM_THREADS=$threads run "$rotor" vision train --model "$model" --out "$tmp/r$seed" --seed "$seed" \
    --max-steps "$steps" --constant-lr --batch 64 --threads "$threads" >"$tmp/r$seed.log" 2>&1
  ours=$(awk -F, -v from="$from" -v names="$figures" 'NR == 1 {for (i = 1; i <= NF; ++i) c[$i] = i; next}
    $1 >= from {k = split(names, f, " "); for (i = 1; i <= k; ++i) s[i] += $c[f[i]]; n++}
    END {if (n != 4) exit 1; for (i = 1; i <= k; ++i) printf "%s%.4f", (i > 1 ? " " : ""), s[i] / n}' \
    "$tmp/r$seed/metrics.csv") ||
    { echo "rotor: error: dcgan_seeds: rotor's metrics.csv lacks the last 200 steps" >&2; exit 1; }
  echo "rotor seed $seed $ours" | tee -a "$rows"
  OMP_NUM_THREADS=$threads run /usr/bin/python3 "$here/vision_peer.py" train --model "$model" --seed "$seed" \
    --steps "$steps" --batch 64 --threads "$threads" >"$tmp/p$seed.log" 2>&1
  peer=$(awk -v from="$from" -v names="$figures" '$1 == "step" && $2 >= from {
      for (i = 3; i < NF; i += 2) v[$i] = $(i + 1); k = split(names, f, " ")
      for (i = 1; i <= k; ++i) { if (!(f[i] in v)) exit 1; s[i] += v[f[i]] }; n++ }
    END {if (n != 4) exit 1; for (i = 1; i <= k; ++i) printf "%s%.4f", (i > 1 ? " " : ""), s[i] / n}' "$tmp/p$seed.log") ||
    { echo "rotor: error: dcgan_seeds: the peer printed no loss rows:" >&2; cat "$tmp/p$seed.log" >&2; exit 1; }
  echo "peer  seed $seed $peer" | tee -a "$rows"
done
columns=() i=3
for f in $figures; do columns+=("$i:$f"); i=$((i + 1)); done
/usr/bin/python3 "$here/seed_compare.py" "$rows" "$model $steps steps, mean of the last 200 steps," "${columns[@]}"
