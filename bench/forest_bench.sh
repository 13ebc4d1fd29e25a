#!/usr/bin/env bash
# Speed of `rotor forest` against ranger 0.14 (../shared/peers/rf_peer.R) on the synthetic tabular
# benchmark: 100 trees, sqrt(28) = 5 features per split, missing values imputed by the column median
# (as the peer does), on the first ROWS training rows; test AUC on the 200,000 test rows.
# Usage: bench/forest_bench.sh [BUILD_DIR] [ROWS] [THREADS]   (data cached in $ROTOR_BENCH_DIR)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
rows=${2:-200000}
threads=${3:-1}
peers=${PEERS:-$here/../shared/peers}
[ -d "$peers" ] || peers=/work/shared/peers
dir=${ROTOR_BENCH_DIR:-/tmp/rotor-bench}
mkdir -p "$dir"
if [ ! -f "$dir/big.train.csv" ]; then
  /usr/bin/python3 "$peers/make_tabular.py" 1000000 200000 "$dir/big"
fi
head -n "$rows" "$dir/big.train.csv" >"$dir/forest_train_$rows.csv"
field() { grep -o "$1=[0-9.]*" <<<"$2" | tail -1 | cut -d= -f2; }
peer=$(Rscript "$peers/rf_peer.R" "$dir/big.train.csv" "$dir/big.test.csv" "$threads" "$rows")
echo "$peer"
out=$("$build/bin/rotor" forest train --data "$dir/forest_train_$rows.csv" --trees 100 --max-features 5 \
      --impute-median --threads "$threads" --seed 1 --out "$dir/forest_model.json")
pred=$("$build/bin/rotor" forest predict --model "$dir/forest_model.json" --data "$dir/big.test.csv" \
       --threads "$threads" --out "$dir/forest_pred.txt")
r_train=$(field train_s "$out"); r_auc=$(field auc "$pred")
p_train=$(field train_s "$peer"); p_auc=$(field auc "$peer")
echo "rotor forest threads=$threads rows=$rows train_s=$r_train auc=$r_auc $(grep oob_auc <<<"$out")"
awk -v pt="$p_train" -v rt="$r_train" -v pa="$p_auc" -v ra="$r_auc" \
  'BEGIN { printf "ratio train_speedup=%.2fx auc_diff=%+.4f\n", pt/rt, ra-pa }'
