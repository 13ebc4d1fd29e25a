#!/usr/bin/env bash
# Final test figures of `rotor vision train` against its PyTorch peer (bench/vision_peer.py train: same
# architecture, initialisation rule, AdamW lr 1e-3 / weight decay 1e-4, cosine schedule over the run) over
# several seeds, with the same step count, batch 64, the full training set (shuffled each epoch) and the full
# test set on both sides:
#   bash bench/vision_seeds.sh MODEL "SEEDS" STEPS [build/bin/rotor] [threads]
#   e.g. LOCK=/tmp/rotor-heavy.lock bash bench/vision_seeds.sh vae "1 2 3" 1000
# MODEL: cnn (test_accuracy), vae, made, nade (test_nll_nats), vqvae (test_mse). With LOCK set, every run
# takes `flock $LOCK` (one run at a time on a shared machine). Prints one row per seed and side, then the
# mean and sample sd per side, the difference of means and its ratio to the standard error of that
# difference (sqrt(sd_r^2 / n + sd_p^2 / n)); |ratio| < 2 is reported as "within noise".
set -euo pipefail
model=${1:?model}
seeds=${2:?seeds}
steps=${3:?steps}
rotor=${4:-build/bin/rotor}
threads=${5:-2}
here=$(cd "$(dirname "$0")" && pwd)
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
case "$model" in
  cnn) key=test_accuracy ;;
  vae | made | nade) key=test_nll_nats ;;
  vqvae) key=test_mse ;;
  *) echo "rotor: error: vision_seeds: model '$model' has no peer figure (want cnn, vae, made, nade, vqvae)" >&2; exit 2 ;;
esac
epochs=$(((steps + 936) / 937))  # 60000 / 64 = 937 steps an epoch; --max-steps ends the run on both sides
run() { if [[ -n "${LOCK:-}" ]]; then flock "$LOCK" "$@"; else "$@"; fi; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows
for seed in $seeds; do
  OMP_NUM_THREADS=$threads run "$rotor" vision train --model "$model" --out "$tmp/r$seed" --seed "$seed" \
    --max-steps "$steps" --epochs "$epochs" --batch 64 --threads "$threads" >"$tmp/r$seed.log" 2>&1
  ours=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" \
    "$tmp/r$seed/metrics.json" "$key")
  extra=""
  [[ $model == vqvae ]] && extra=$(/usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1]));
print('perplexity %.1f codes_used %d' % (m['codebook_perplexity'], m['codes_used']))" "$tmp/r$seed/metrics.json")
  echo "rotor seed $seed $key $ours $extra" | tee -a "$rows"
  OMP_NUM_THREADS=$threads run /usr/bin/python3 "$here/vision_peer.py" train --model "$model" --seed "$seed" \
    --max-steps "$steps" --epochs "$epochs" --batch 64 --threads "$threads" >"$tmp/p$seed.log" 2>&1
  peer=$(awk -v k="$key" '$1 == k {print $2}' "$tmp/p$seed.log")
  extra=""
  [[ $model == vqvae ]] && extra=$(awk '$1 == "codebook_perplexity" {p=$2} $1 == "codes_used" {u=$2}
END {printf "perplexity %.1f codes_used %d", p, u}' "$tmp/p$seed.log")
  [[ -n $peer ]] || { echo "rotor: error: vision_seeds: the peer printed no $key:" >&2; cat "$tmp/p$seed.log" >&2; exit 1; }
  echo "peer  seed $seed $key $peer $extra" | tee -a "$rows"
done
/usr/bin/python3 "$here/seed_compare.py" "$rows" "$model $steps steps" "4:$key"
