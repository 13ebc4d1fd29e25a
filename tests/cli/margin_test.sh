#!/usr/bin/env bash
# rotor margin / rotor surrogate: a short run prints its result line and JSON; bad options and a missing
# data folder are one-line errors with a non-zero exit and no output file.
set -euo pipefail
rotor=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
out=$("$rotor" margin --head arcface --easy-margin --train-size 300 --test-size 200 --epochs 1 --pair-images 100 2>/dev/null)
grep -q "^head arcface  s 30  m 0.5  easy margin  test accuracy" <<<"$out" || fail "$out"
out=$("$rotor" margin --head cosface --train-size 600 --test-size 300 --epochs 1 --pair-images 200 --json "$dir/m.json" 2>/dev/null)
grep -q '^head cosface  s 30  m 0.35  test accuracy 0\.[0-9]*  TAR@FAR=1e-3 ' <<<"$out" || fail "$out"
grep -q '"tar_at_far_1e-3"' "$dir/m.json" || fail "no json"
out=$("$rotor" surrogate --loss auc --train-size 3000 --test-size 1000 --epochs 1 --ratio 5 2>/dev/null)
grep -q '^loss auc  class 6 vs rest 1:5 .* AUC 0\.[0-9]*$' <<<"$out" || fail "$out"
out=$("$rotor" surrogate --task multiclass --loss soft_f1 --train-size 3000 --test-size 1000 --epochs 1 --json "$dir/s.json" 2>/dev/null)
grep -q '^loss soft_f1  ten classes, long-tailed 1:20 .* macro-F1 0\.[0-9]*  balanced accuracy 0\.[0-9]*$' <<<"$out" || fail "$out"
grep -q '"macro_f1"' "$dir/s.json" || fail "no multiclass json"
expect_error() {  # expect_error TEXT ARGS...
  local want=$1; shift
  set +e; err=$("$rotor" "$@" --json "$dir/bad.json" 2>&1 >/dev/null); code=$?; set -e
  [ $code -ne 0 ] || fail "accepted: $*"
  [[ "$err" == "rotor: error: "*"$want"* ]] || fail "unexpected error for $*: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "not one line: $err"
  [ ! -e "$dir/bad.json" ] || fail "output written for $*"
}
expect_error "unknown head 'sphere'" margin --head sphere
expect_error "--m must be an integer" margin --head asoftmax --m 2.5
expect_error "--s must be positive" margin --head arcface --s -0.5 --m 0.5
expect_error "unknown loss 'hinge'" surrogate --loss hinge
expect_error "--positive must be a class id" surrogate --positive 12
expect_error "binary only" surrogate --task multiclass --loss auc
expect_error "--task" surrogate --task ternary
expect_error "--epochs" margin --epochs 0
expect_error "$dir/nowhere" margin --data "$dir/nowhere"
echo ok
