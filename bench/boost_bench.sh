#!/usr/bin/env bash
# Speed of `rotor boost` against XGBoost 1.7 hist on the synthetic tabular benchmark of issue 3
# (../shared/peers/make_tabular.py: 28 features, 1% missing; 200 rounds, depth 8, eta 0.1, 256 bins),
# on 1 and 2 threads. Prints each tool's train_s / predict_s / test AUC and the ratios
# (xgboost time / rotor time: > 1 means rotor is faster).
# Usage: bench/boost_bench.sh [BUILD_DIR] [TRAIN_ROWS] [TEST_ROWS]   (THREADS="1 2" by default)
# On a machine shared with other busy processes, both tools' OpenMP threads spin at barriers while
# the other thread is descheduled, which inflates 2-thread times badly (for both); running with
# OMP_WAIT_POLICY=passive (inherited by both tools) avoids that.
#   data is cached in $ROTOR_BENCH_DIR (default /tmp/rotor-bench); PEERS defaults to ../shared/peers.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
train_rows=${2:-1000000}
test_rows=${3:-200000}
peers=${PEERS:-$here/../shared/peers}
[ -d "$peers" ] || peers=/work/shared/peers
dir=${ROTOR_BENCH_DIR:-/tmp/rotor-bench}
rotor=$build/bin/rotor
python=/usr/bin/python3
mkdir -p "$dir"
prefix=$dir/tab_${train_rows}_${test_rows}
if [ "$train_rows" = 1000000 ] && [ "$test_rows" = 200000 ] && [ -f "$dir/big.train.csv" ]; then prefix=$dir/big; fi
if [ ! -f "$prefix.train.csv" ]; then
  echo "generating $prefix.{train,test}.csv"
  "$python" "$peers/make_tabular.py" "$train_rows" "$test_rows" "$prefix"
fi
field() { grep -o "$1=[0-9.]*" <<<"$2" | tail -1 | cut -d= -f2; }
for threads in ${THREADS:-1 2}; do
  xgb=$("$python" "$peers/xgb_peer.py" "$prefix.train.csv" "$prefix.test.csv" "$threads")
  echo "$xgb"
  out=$("$rotor" boost train --data "$prefix.train.csv" --objective binary:logistic --rounds 200 --max-depth 8 \
        --eta 0.1 --max-bin 256 --threads "$threads" --out "$dir/rotor_model.json" 2>/dev/null)
  pred=$("$rotor" boost predict --model "$dir/rotor_model.json" --data "$prefix.test.csv" --threads "$threads" \
         --out "$dir/rotor_pred.txt")
  r_train=$(field train_s "$out"); r_pred=$(field predict_s "$pred"); r_auc=$(field auc "$pred")
  x_train=$(field train_s "$xgb"); x_pred=$(field predict_s "$xgb"); x_auc=$(field auc "$xgb")
  echo "rotor threads=$threads train_s=$r_train predict_s=$r_pred auc=$r_auc"
  awk -v t="$threads" -v xt="$x_train" -v rt="$r_train" -v xp="$x_pred" -v rp="$r_pred" -v xa="$x_auc" -v ra="$r_auc" \
    'BEGIN { printf "ratio threads=%s train_speedup=%.2fx predict_speedup=%.2fx auc_diff=%+.4f\n", t, xt/rt, xp/rp, ra-xa }'
done
