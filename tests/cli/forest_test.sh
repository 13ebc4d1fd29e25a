#!/usr/bin/env bash
# `rotor forest` and `rotor tree`: train/predict/importance on small data, OOB score and train_s,
# binary output = P(positive) per line, and bad input (missing values without --impute-median,
# wrong criterion, corrupted model, feature count) as one-line errors with no output written.
set -uo pipefail
rotor=$1
data="$ROTOR_SOURCE_DIR/tests/trees/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$rotor" forest train --data "$data/sk_bin.train.csv" --trees 20 --max-features sqrt --seed 1 --threads 2 \
      --out "$tmp/f.json") || fail "forest train failed"
[[ "$(tail -1 <<<"$out")" == train_s=* ]] || fail "last line is not train_s=: $out"
grep -q "^oob_accuracy=0\.[6-9]" <<<"$out" || fail "no plausible OOB score: $out"
out=$("$rotor" forest predict --model "$tmp/f.json" --data "$data/sk_bin.test.csv" --out "$tmp/p.txt") || fail "predict"
[[ "$(tail -1 <<<"$out")" == predict_s=* ]] || fail "last line is not predict_s=: $out"
grep -q "^auc=0\.[89]" <<<"$out" || fail "no plausible AUC: $out"
[ "$(wc -l <"$tmp/p.txt")" -eq 150 ] && awk -F, 'NF != 1 || $1 < 0 || $1 > 1 { exit 1 }' "$tmp/p.txt" \
  || fail "binary predictions are not one probability per line"
"$rotor" forest train --data "$data/sk_multi.train.csv" --trees 5 --extra-trees --no-bootstrap --out "$tmp/m.json" >/dev/null \
  || fail "extra trees failed"
"$rotor" forest predict --model "$tmp/m.json" --data "$data/sk_multi.test.csv" --out "$tmp/m.txt" >/dev/null || fail "mc predict"
awk -F, 'NF != 3 { exit 1 }' "$tmp/m.txt" || fail "multiclass rows do not have 3 probabilities"
imp=$("$rotor" forest importance --model "$tmp/f.json" --data "$data/sk_bin.test.csv" --repeats 2) || fail "importance"
[ "$(wc -l <<<"$imp")" -eq 6 ] || fail "importance table has wrong size: $imp"
out=$("$rotor" tree train --data "$data/sk_reg.train.csv" --task regression --max-depth 3 --ccp-alpha 0.01 \
      --out "$tmp/t.json") || fail "tree train failed"
grep -q "depth=3" <<<"$out" || fail "max depth not applied: $out"
"$rotor" tree predict --model "$tmp/t.json" --data "$data/sk_reg.test.csv" --out "$tmp/t.txt" | grep -q "^r2=0\." \
  || fail "tree predict r2 missing"

expect_error() {
  local pattern=$1; shift
  local err code
  err=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"
  [[ "$err" == "rotor: error: "* ]] || fail "unexpected error text: $err"
  grep -qE -- "$pattern" <<<"$err" || fail "error '$err' does not match '$pattern'"
}
printf '1,2,3\n0,,1\n1,4,5\n' >"$tmp/missing.csv"
expect_error "missing.csv: has missing values" "$rotor" forest train --data "$tmp/missing.csv" --out "$tmp/x.json"
"$rotor" forest train --data "$tmp/missing.csv" --impute-median --trees 2 --out "$tmp/x.json" >/dev/null \
  || fail "--impute-median did not allow missing values"
expect_error "criterion squared_error does not fit task classification" \
  "$rotor" tree train --data "$data/sk_bin.train.csv" --criterion squared_error --out "$tmp/y.json"
expect_error "max_features 'cube' is not" "$rotor" forest train --data "$data/sk_bin.train.csv" --max-features cube --out "$tmp/y.json"
[ ! -e "$tmp/y.json" ] || fail "a failed training left a model"
echo keep >"$tmp/keep.txt"
expect_error "has 2 features, the model expects 5" "$rotor" forest predict --model "$tmp/f.json" --data "$tmp/missing.csv" --out "$tmp/keep.txt"
head -c 200 "$tmp/f.json" >"$tmp/cut.json"
expect_error "cut.json: not a valid forest model" "$rotor" forest predict --model "$tmp/cut.json" --data "$data/sk_bin.test.csv" --out "$tmp/keep.txt"
[ "$(cat "$tmp/keep.txt")" = keep ] || fail "existing output was modified"
# AdaBoost: train/predict, a bad loss name, and a missing value at predict time.
out=$("$rotor" adaboost train --data "$data/sk_multi.train.csv" --n-estimators 10 --max-depth 2 --out "$tmp/a.json") \
  || fail "adaboost train failed"
[[ "$(tail -1 <<<"$out")" == train_s=* ]] || fail "adaboost: last line is not train_s=: $out"
"$rotor" adaboost predict --model "$tmp/a.json" --data "$data/sk_multi.test.csv" --out "$tmp/a.txt" | grep -q "^accuracy=0\.[5-9]" \
  || fail "adaboost accuracy missing"
"$rotor" adaboost train --data "$data/sk_reg.train.csv" --task regression --loss square --n-estimators 5 --out "$tmp/r.json" \
  >/dev/null || fail "adaboost R2 failed"
expect_error "cubic" "$rotor" adaboost train --data "$data/sk_reg.train.csv" --loss cubic --out "$tmp/z.json"
printf '1,2,3,4,5,6\n0,1,,3,4,5\n' >"$tmp/hole.csv"
expect_error "hole.csv: row 2 column 2: missing value" "$rotor" adaboost predict --model "$tmp/a.json" --data "$tmp/hole.csv" --out "$tmp/keep.txt"
[ "$(cat "$tmp/keep.txt")" = keep ] || fail "existing output was modified"
# Friedman GBM.
out=$("$rotor" gbm train --data "$data/sk_reg.train.csv" --n-estimators 20 --subsample 0.8 --out "$tmp/g.json") \
  || fail "gbm train failed"
[[ "$(tail -1 <<<"$out")" == train_s=* ]] || fail "gbm: last line is not train_s=: $out"
"$rotor" gbm predict --model "$tmp/g.json" --data "$data/sk_reg.test.csv" --out "$tmp/g.txt" | grep -q "^rmse=" \
  || fail "gbm predict failed"
expect_error "log_loss needs exactly 2 classes, found 3" "$rotor" gbm train --data "$data/sk_multi.train.csv" --loss log_loss --out "$tmp/z.json"
# Bagging and stacking.
out=$("$rotor" bagging train --data "$data/sk_bin.train.csv" --learner tree:max_depth=6 --n-estimators 5 --out "$tmp/b.json") \
  || fail "bagging train failed"
[[ "$(tail -1 <<<"$out")" == train_s=* ]] || fail "bagging: last line is not train_s=: $out"
"$rotor" bagging predict --model "$tmp/b.json" --data "$data/sk_bin.test.csv" --out "$tmp/b.txt" | grep -q "^accuracy=0\.[7-9]" \
  || fail "bagging accuracy missing"
out=$("$rotor" stacking train --data "$data/sk_multi.train.csv" --base tree:max_depth=3 --base boost:rounds=10 --folds 3 \
      --out "$tmp/s.json") || fail "stacking train failed"
grep -q "^oof_accuracy=0\." <<<"$out" || fail "no OOF score: $out"
"$rotor" stacking predict --model "$tmp/s.json" --data "$data/sk_multi.test.csv" --out "$tmp/s.txt" >/dev/null || fail "stacking predict"
awk -F, 'NF != 3 { exit 1 }' "$tmp/s.txt" || fail "stacking rows do not have 3 probabilities"
expect_error "learner 'svm' is not tree" "$rotor" bagging train --data "$data/sk_bin.train.csv" --learner svm --out "$tmp/z.json"
expect_error "sk_reg.train.csv: row 1: label 3.7623 is not a class" "$rotor" bagging train --data "$data/sk_reg.train.csv" --out "$tmp/z.json"
# a parameter check inside the parallel tree loop is an error, not an abort (issue 17)
bin="$data/sk_bin.train.csv"
expect_error "min_samples_leaf must be >= 1, got 0" "$rotor" forest train --data "$bin" --min-samples-leaf 0 --threads 2 --out "$tmp/z.json"
expect_error "min_samples_split must be >= 2, got 1" "$rotor" forest train --data "$bin" --min-samples-split 1 --threads 2 --out "$tmp/z.json"
expect_error "max_depth must be >= 0, got -1" "$rotor" forest train --data "$bin" --max-depth -1 --threads 2 --out "$tmp/z.json"
expect_error "min_samples_leaf must be >= 1, got 0" "$rotor" tree train --data "$bin" --min-samples-leaf 0 --out "$tmp/z.json"
expect_error "min_samples_leaf must be >= 1, got 0" "$rotor" bagging train --data "$bin" --learner tree:min_samples_leaf=0 --threads 2 --out "$tmp/z.json"
[ ! -e "$tmp/z.json" ] || fail "a failed training wrote a model"
# class labels: whole numbers up to 2^24 (negative ones are classes); fractions and huge values are refused
printf 'label,a\n0.5,1\n1.5,2\n0.5,3\n1.5,4\n' >"$tmp/frac.csv"
expect_error "frac.csv: row 1: classification label 0.5 is not a whole number" "$rotor" forest train --data "$tmp/frac.csv" --out "$tmp/z.json"
printf 'label,a\n-1,1\n1e9,2\n-1,3\n1e9,4\n' >"$tmp/huge.csv"
expect_error "huge.csv: row 2: classification label 1e\+09 is too large" "$rotor" forest train --data "$tmp/huge.csv" --out "$tmp/z.json"
printf 'label,a\n-1,1\n7,2\n-1,3\n7,4\n-1,1\n7,2\n' >"$tmp/neg.csv"
"$rotor" forest train --data "$tmp/neg.csv" --trees 3 --out "$tmp/neg.json" >/dev/null || fail "labels -1/7 refused"
expect_error "use --impute-median" "$rotor" forest train --data "$tmp/missing.csv" --out "$tmp/z.json"
echo ok
