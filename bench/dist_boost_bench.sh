#!/usr/bin/env bash
# Distributed boosting (issue 16 part 3): `rotor boost train` as one process and as `mpirun -np 2`
# (row ranges of one file, 1 OpenMP thread per rank) on the 1M-row synthetic tabular benchmark of
# bench/boost_bench.sh (../shared/peers/make_tabular.py: 28 features, 1% missing; depth 8, eta 0.1,
# 256 bins). Prints train_s of each, the speedup (N=1 time / N=2 time) and whether the two models are
# equal (tests/cli/json_close.py). Also one process with 2 threads, the shared-memory alternative.
# Usage: bench/dist_boost_bench.sh [BUILD_DIR] [TRAIN_ROWS]   (ROUNDS=200 by default)
#   data is cached in $ROTOR_BENCH_DIR (default /tmp/rotor-bench); PEERS defaults to ../shared/peers.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
train_rows=${2:-1000000}
test_rows=200000
rounds=${ROUNDS:-200}
peers=${PEERS:-$here/../shared/peers}
[ -d "$peers" ] || peers=/work/shared/peers
dir=${ROTOR_BENCH_DIR:-/tmp/rotor-bench}
rotor=$build/bin/rotor
python=/usr/bin/python3
mkdir -p "$dir"
prefix=$dir/tab_${train_rows}_${test_rows}
if [ "$train_rows" = 1000000 ] && [ -f "$dir/big.train.csv" ]; then prefix=$dir/big; fi
if [ ! -f "$prefix.train.csv" ]; then
  echo "generating $prefix.{train,test}.csv"
  "$python" "$peers/make_tabular.py" "$train_rows" "$test_rows" "$prefix"
fi
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
# Ranks waiting in a collective yield the CPU (the machine may have fewer cores than ranks).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
field() { grep -o "$1=[0-9.]*" <<<"$2" | tail -1 | cut -d= -f2; }
args=(--data "$prefix.train.csv" --objective binary:logistic --rounds "$rounds" --max-depth 8 --eta 0.1 --max-bin 256)
t0=$(date +%s.%N)
one=$("$rotor" boost train "${args[@]}" --threads 1 --out "$dir/dist_n1.json" 2>/dev/null)
t1=$(date +%s.%N)
two=$(mpirun --oversubscribe --allow-run-as-root -np 2 "$rotor" boost train "${args[@]}" --threads 1 \
      --out "$dir/dist_n2.json" 2>/dev/null)
t2=$(date +%s.%N)
thr=$("$rotor" boost train "${args[@]}" --threads 2 --out "$dir/dist_t2.json" 2>/dev/null)
n1=$(field train_s "$one"); n2=$(field train_s "$two"); t2s=$(field train_s "$thr")
echo "rotor N=1 threads=1 train_s=$n1 wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
echo "rotor N=2 threads=1/rank train_s=$n2 wall_s=$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}')"
echo "rotor N=1 threads=2 train_s=$t2s"
awk -v a="$n1" -v b="$n2" -v c="$t2s" \
  'BEGIN { printf "ratio N=2/N=1 speedup=%.2fx (2 threads in one process: %.2fx)\n", a/b, a/c }'
if python3 "$here/tests/cli/json_close.py" "$dir/dist_n1.json" "$dir/dist_n2.json"; then
  echo "models N=1 and N=2: equal (json_close)"
else
  echo "models N=1 and N=2: DIFFER"
fi
