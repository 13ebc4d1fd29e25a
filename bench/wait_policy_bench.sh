#!/usr/bin/env bash
# OpenMP wait policies at 2 threads, on a quiet machine and with the other vCPU kept busy by a spinning
# process: boost (50 rounds on 20k rows, branchy, many short parallel regions) and a bf16 `rotor train`
# (matrix work). Each cell is the best of REPS runs, the policies interleaved so that drift in the
# machine's load hits all of them alike. Policies: OpenMP's default (GOMP_SPINCOUNT unset: ~300k spins),
# GOMP_SPINCOUNT=10000, rotor's default (no variable set: the program applies its own, 1000), and passive.
#   bench/wait_policy_bench.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
rotor=$build/bin/rotor
peers=${PEERS:-$here/../shared/peers}
[ -d "$peers" ] || peers=/work/shared/peers
dir=${ROTOR_BENCH_DIR:-/tmp/rotor-bench}
reps=${REPS:-3}
mkdir -p "$dir"
[ -f "$dir/wait_20k.train.csv" ] || /usr/bin/python3 "$peers/make_tabular.py" 20000 2000 "$dir/wait_20k" >/dev/null
policies=(openmp spin10000 rotor passive)
policy_env() {
  case $1 in
    openmp) echo "GOMP_SPINCOUNT=300000" ;;  # libgomp's own default when OMP_WAIT_POLICY is unset
    rotor) echo "ROTOR_BENCH_UNSET=1" ;;
    spin10000) echo "GOMP_SPINCOUNT=10000" ;;
    passive) echo "OMP_WAIT_POLICY=passive" ;;
  esac
}
run_boost() {  # seconds
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $(policy_env "$1") "$rotor" boost train --data "$dir/wait_20k.train.csv" \
    --objective binary:logistic --rounds 50 --max-depth 6 --threads 2 --out "$dir/wait_model.json" 2>/dev/null |
    sed -n 's/^train_s=//p'
}
run_train() {  # tokens/s
  rm -rf "$dir/wait_run"
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $(policy_env "$1") "$rotor" train --out "$dir/wait_run" \
    --steps 12 --dim 256 --layers 4 --heads 4 --ctx 256 --batch 8 --dtype bf16 --threads 2 --eval-every 100000 \
    2>&1 | sed -n 's/^tokens\/s=//p' | tail -1
}
best() { tr ' ' '\n' | grep . | sort -g | { if [ "$1" = min ]; then head -1; else tail -1; fi; }; }

busy_pid=
start_busy() { bash -c 'while :; do :; done' & busy_pid=$!; }
stop_busy() { [ -n "$busy_pid" ] && kill "$busy_pid" 2>/dev/null; wait "$busy_pid" 2>/dev/null || true; busy_pid=; }
trap stop_busy EXIT

echo "| machine | policy | boost 20k rows, 2 threads (s, best of $reps) | bf16 train, 2 threads (tokens/s, best of $reps) |"
echo "|---|---|---|---|"
for load in quiet busy; do
  declare -A boost=() train=()
  [ $load = busy ] && start_busy
  for ((r = 0; r < reps; r++)); do
    for p in "${policies[@]}"; do
      boost[$p]+=" $(run_boost "$p")"
      train[$p]+=" $(run_train "$p")"
    done
  done
  stop_busy
  for p in "${policies[@]}"; do
    echo "| $load | $p | $(best min <<<"${boost[$p]}") | $(best max <<<"${train[$p]}") |"
  done
done
