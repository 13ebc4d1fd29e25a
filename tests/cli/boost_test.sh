#!/usr/bin/env bash
# `rotor boost train|predict`: the normal path (model file, one prediction per row, train_s/predict_s
# last), XGBoost model import, and bad input: one-line errors with file:line:column, non-zero exit,
# and no output file written (an existing one is left untouched).
set -uo pipefail
rotor=$1
data="$ROTOR_SOURCE_DIR/tests/trees/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --- normal path
out=$("$rotor" boost train --data "$data/binary.train.csv" --valid "$data/binary.test.csv" --objective binary:logistic \
      --rounds 5 --max-depth 3 --eval-metric auc --threads 1 --out "$tmp/m.json" 2>"$tmp/progress") || fail "train failed"
[[ "$(tail -1 <<<"$out")" == train_s=* ]] || fail "last line is not train_s=: $out"
grep -q "valid-auc=" "$tmp/progress" || fail "no per-round metric on the progress line"
out=$("$rotor" boost predict --model "$tmp/m.json" --data "$data/binary.test.csv" --out "$tmp/p.txt") || fail "predict failed"
[[ "$(tail -1 <<<"$out")" == predict_s=* ]] || fail "last line is not predict_s=: $out"
grep -q "^auc=0\.[6-9]" <<<"$out" || fail "no plausible auc: $out"
[ "$(wc -l <"$tmp/p.txt")" -eq 200 ] || fail "expected 200 predictions"
# Multiclass: one line of 3 probabilities per row.
"$rotor" boost train --data "$data/multiclass.train.csv" --objective multi:softprob --num-class 3 --rounds 3 \
  --out "$tmp/mc.json" >/dev/null 2>&1 || fail "multiclass train failed"
"$rotor" boost predict --model "$tmp/mc.json" --data "$data/multiclass.test.csv" --out "$tmp/mc.txt" >/dev/null || fail "mc predict"
awk -F, 'NF != 3 { exit 1 }' "$tmp/mc.txt" || fail "multiclass rows do not have 3 probabilities"
# XGBoost's model: the same numbers as XGBoost's own predictions (first rows, to 6 digits).
"$rotor" boost predict --model "$data/binary_default.xgb.json" --data "$data/binary.test.csv" --out "$tmp/x.txt" >/dev/null \
  || fail "xgboost model predict failed"
paste -d' ' "$tmp/x.txt" "$data/binary_default.xgb_pred.txt" | awk '{ d = $1 - $2; if (d < -1e-5 || d > 1e-5) exit 1 }' \
  || fail "imported XGBoost model predicts differently"

# LibSVM input and a weights file: the same rows as CSV give the same model (indices 1..6 here, so
# column 0 stays empty and the CSV is shifted by one column of missing values).
awk -F, '{ printf "%s", $1; for (i = 2; i <= NF; ++i) if ($i != "nan" && $i != "") printf " %d:%s", i - 1, $i; print "" }' \
  "$data/binary.train.csv" >"$tmp/train.svm"
awk -F, '{ printf "%s,nan", $1; for (i = 2; i <= NF; ++i) printf ",%s", $i; print "" }' "$data/binary.train.csv" >"$tmp/shift.csv"
"$rotor" boost train --data "$tmp/train.svm" --objective binary:logistic --rounds 3 --out "$tmp/svm.json" >/dev/null 2>&1 \
  || fail "libsvm training failed"
"$rotor" boost train --data "$tmp/shift.csv" --objective binary:logistic --rounds 3 --out "$tmp/csv.json" >/dev/null 2>&1 \
  || fail "shifted csv training failed"
cmp -s "$tmp/svm.json" "$tmp/csv.json" || fail "LibSVM and CSV of the same rows gave different models"
awk 'NR % 2 { print 2; next } { print 0.5 }' "$data/binary.train.csv" >"$tmp/w.txt"
"$rotor" boost train --data "$data/binary.train.csv" --weights "$tmp/w.txt" --rounds 3 --out "$tmp/w.json" >/dev/null 2>&1 \
  || fail "weights file rejected"
"$rotor" boost train --data "$data/binary.train.csv" --rounds 3 --out "$tmp/now.json" >/dev/null 2>&1 \
  || fail "unweighted training failed"
[ -s "$tmp/w.json" ] && [ -s "$tmp/now.json" ] || fail "a model file is missing or empty"
cmp -s "$tmp/w.json" "$tmp/now.json" && fail "weights had no effect"
head -5 "$tmp/w.txt" >"$tmp/short.txt"
expect_error_early() { local err; err=$("$@" 2>&1 >/dev/null) && fail "accepted: $*"; grep -q "short.txt: has 5 weights, the data has 600 rows" <<<"$err" || fail "bad message: $err"; }
expect_error_early "$rotor" boost train --data "$data/binary.train.csv" --weights "$tmp/short.txt" --out "$tmp/w2.json"

# Importance and TreeSHAP: contributions plus bias sum to the margin.
imp=$("$rotor" boost importance --model "$tmp/m.json" --type gain --type weight) || fail "importance failed"
[ "$(head -1 <<<"$imp")" = "feature,gain,weight" ] && [ "$(wc -l <<<"$imp")" -eq 7 ] || fail "importance table: $imp"
"$rotor" boost explain --model "$tmp/m.json" --data "$data/binary.test.csv" --out "$tmp/shap.txt" >/dev/null || fail "explain"
"$rotor" boost predict --model "$tmp/m.json" --data "$data/binary.test.csv" --margin --out "$tmp/margin.txt" >/dev/null
paste -d, "$tmp/shap.txt" "$tmp/margin.txt" | awk -F, '{ s = 0; for (i = 1; i < NF; ++i) s += $i; d = s - $NF;
  if (NF != 8 || d > 1e-4 || d < -1e-4) exit 1 }' || fail "contributions do not sum to the margin"

# --- bad input
expect_error() {  # expect_error PATTERN command...
  local pattern=$1; shift
  local err code
  err=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "accepted: $*"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"
  [[ "$err" == "rotor: error: "* ]] || fail "unexpected error text: $err"
  grep -qE -- "$pattern" <<<"$err" || fail "error '$err' does not match '$pattern'"
}
train() { "$rotor" boost train --rounds 2 --out "$tmp/bad.json" "$@"; }
printf '1,2,3\n0,1\n' >"$tmp/ragged.csv"
expect_error "ragged.csv:2:3: row has 2 columns, expected 3" train --data "$tmp/ragged.csv"
printf '1,2,3\n0,abc,1\n' >"$tmp/text.csv"
expect_error "text.csv:2:3: cell 'abc'" train --data "$tmp/text.csv"
: >"$tmp/empty.csv"
expect_error "empty.csv: no data rows" train --data "$tmp/empty.csv"
printf '1,2\nnan,3\n' >"$tmp/nanlabel.csv"
expect_error "nanlabel.csv:2:1: missing label" train --data "$tmp/nanlabel.csv"
printf '1,2\ninf,3\n' >"$tmp/inflabel.csv"
expect_error "inflabel.csv:2:1: label 'inf' is not finite" train --data "$tmp/inflabel.csv"
printf '0,2\n3,3\n' >"$tmp/cls.csv"
expect_error "cls.csv: row 2: label 3 is not a class in \[0, 3\)" train --data "$tmp/cls.csv" --objective multi:softprob --num-class 3
expect_error "cls.csv: row 2: label 3 is outside \[0, 1\]" train --data "$tmp/cls.csv" --objective binary:logistic
expect_error "objective 'rank:pairwise' is not supported" train --data "$data/binary.train.csv" --objective rank:pairwise
printf '1 1:2 x\n' >"$tmp/bad.svm"
expect_error "bad.svm:1:7: entry 'x' is not index:value" train --data "$tmp/bad.svm"
[ ! -e "$tmp/bad.json" ] || fail "a failed training left a model file"
# Feature count differs between model and data.
printf '1,2,3\n' >"$tmp/narrow.csv"
echo keep >"$tmp/keep.txt"
expect_error "narrow.csv: has 2 features, the model expects 6" \
  "$rotor" boost predict --model "$tmp/m.json" --data "$tmp/narrow.csv" --out "$tmp/keep.txt"
[ "$(cat "$tmp/keep.txt")" = keep ] || fail "existing output was modified"
# Corrupted model files.
head -c 300 "$tmp/m.json" >"$tmp/cut.json"
expect_error "cut.json: not a valid JSON model" "$rotor" boost predict --model "$tmp/cut.json" --data "$data/binary.test.csv" --out "$tmp/keep.txt"
sed 's/"left":\[1,/"left":[0,/' "$tmp/m.json" >"$tmp/cycle.json"
expect_error "cycle.json: tree 0: node 0 has children" "$rotor" boost predict --model "$tmp/cycle.json" --data "$data/binary.test.csv" --out "$tmp/keep.txt"
[ "$(cat "$tmp/keep.txt")" = keep ] || fail "existing output was modified"
expect_error "bogus" "$rotor" boost train --data x.csv --out y.json --bogus
echo ok
