#!/usr/bin/env bash
# The tables of README "## Contrastive and metric learning": every margin head (rotor margin) and every
# metric surrogate over seeds (rotor surrogate) on Fashion-MNIST. Usage: scripts/metric_learning_tables.sh ROTOR
set -euo pipefail
rotor=${1:-build/bin/rotor}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
echo "| head | s | m | test accuracy | TAR @ FAR 1e-3 |"
echo "|---|---|---|---|---|"
run_head() {  # run_head NAME ARGS...
  local name=$1; shift
  "$rotor" margin "$@" --train-size 20000 --epochs 8 --json "$dir/h.json" >/dev/null 2>&1
  /usr/bin/python3 -c "import json,sys; r=json.load(open('$dir/h.json')); s='-' if r['head'] in ('softmax','lsoftmax','asoftmax') else '%g'%r['s']; m='-' if r['head'] in ('softmax','normface') else '%g'%r['m']; print('| $name | %s | %s | %.4f | %.4f |' % (s, m, r['test_accuracy'], r['tar_at_far_1e-3']))"
}
run_head softmax --head softmax
run_head normface --head normface
run_head lsoftmax --head lsoftmax
run_head asoftmax --head asoftmax
run_head cosface --head cosface
run_head "arcface" --head arcface
run_head "arcface, easy margin" --head arcface --easy-margin
echo
echo "| training loss | seed | accuracy | F1 | AUC |"
echo "|---|---|---|---|---|"
for loss in ce soft_acc soft_f1 auc; do
  for seed in 1 2 3; do
    "$rotor" surrogate --loss "$loss" --seed "$seed" --json "$dir/s.json" >/dev/null 2>&1
    /usr/bin/python3 -c "import json; r=json.load(open('$dir/s.json')); print('| $loss | $seed | %.4f | %.4f | %.4f |' % (r['accuracy'], r['f1'], r['auc']))"
  done
done
