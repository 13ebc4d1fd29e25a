#!/usr/bin/env bash
# `rotor boost train --stop-at R` / `--checkpoint-every K` and `--resume`: a run stopped and continued gives
# the uninterrupted run's model byte for byte (row and column sampling, lossguide, multiclass, a validation
# set with early stopping); a stopped run writes its checkpoint and no model; resuming with other options, a
# malformed checkpoint or one from other data is a one-line `rotor: error:` and writes nothing.
set -uo pipefail
rotor=$1
data="$ROTOR_SOURCE_DIR/tests/trees/data"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp" || exit 1

check_resume() {  # DATA ROUNDS STOP OPTIONS...
  local d=$1 rounds=$2 stop=$3; shift 3
  "$rotor" boost train --data "$d" --rounds "$rounds" "$@" --out full.json >/dev/null 2>&1 || fail "full run failed: $*"
  rm -f part.json part.json.checkpoint
  out=$("$rotor" boost train --data "$d" --rounds "$rounds" "$@" --out part.json --stop-at "$stop" 2>&1) \
    || fail "stopped run failed: $* ($out)"
  grep -q "stopped after round $stop" <<<"$out" || fail "no stop message: $out"
  [ -e part.json ] && fail "a stopped run wrote a model: $*"
  [ -s part.json.checkpoint ] || fail "a stopped run wrote no checkpoint: $*"
  "$rotor" boost train --data "$d" --rounds "$rounds" "$@" --out part.json --resume part.json.checkpoint \
    >/dev/null 2>&1 || fail "resumed run failed: $*"
  cmp -s full.json part.json || fail "resumed model differs from the uninterrupted one: $*"
}

check_resume "$data/binary.train.csv" 30 12
check_resume "$data/binary.train.csv" 30 7 --subsample 0.8 --colsample 0.7 --eval-train --objective binary:logistic
check_resume "$data/binary.train.csv" 25 10 --grow-policy lossguide --subsample 0.5 --colsample-bynode 0.5
check_resume "$data/multiclass.train.csv" 12 5 --objective multi:softprob --num-class 3 --subsample 0.7
check_resume "$data/binary.train.csv" 200 9 --objective binary:logistic --valid "$data/binary.test.csv" \
  --early-stopping 5 --eta 0.5 --max-depth 8

# periodic checkpoints: the last one before the end, resumed, also gives the full model
rm -f per.json per.json.checkpoint
"$rotor" boost train --data "$data/binary.train.csv" --rounds 30 --subsample 0.8 --out per.json --checkpoint-every 8 \
  >/dev/null 2>&1 || fail "run with --checkpoint-every failed"
grep -q '"rounds_done":24' per.json.checkpoint || fail "the last periodic checkpoint is not at round 24"
"$rotor" boost train --data "$data/binary.train.csv" --rounds 30 --subsample 0.8 --out full.json >/dev/null 2>&1
mv per.json per-first.json
"$rotor" boost train --data "$data/binary.train.csv" --rounds 30 --subsample 0.8 --out per.json \
  --resume per.json.checkpoint >/dev/null 2>&1 || fail "resume from a periodic checkpoint failed"
cmp -s per.json full.json && cmp -s per-first.json full.json || fail "periodic-checkpoint models differ"

# errors: other options, a malformed file, another data set; nothing written
"$rotor" boost train --data "$data/binary.train.csv" --rounds 30 --out e.json --stop-at 5 >/dev/null 2>&1
expect_error() {  # PATTERN COMMAND...
  local pattern=$1; shift
  out=$("$@" 2>&1) && fail "succeeded: $*"
  [ "$(wc -l <<<"$out")" -eq 1 ] && grep -q "^rotor: error: .*$pattern" <<<"$out" || fail "unclear error for $*: $out"
  [ -e e.json ] && fail "a failed resume wrote a model: $*"
  return 0
}
expect_error "another command line" "$rotor" boost train --data "$data/binary.train.csv" --rounds 30 --eta 0.1 \
  --out e.json --resume e.json.checkpoint
printf '{"format": "rotor-boost-checkpoint", "rounds_done": ' > bad.checkpoint
expect_error "not a valid boosting checkpoint" "$rotor" boost train --data "$data/binary.train.csv" --rounds 30 \
  --out e.json --resume bad.checkpoint
expect_error "No such file\|cannot open\|cannot read" "$rotor" boost train --data "$data/binary.train.csv" \
  --rounds 30 --out e.json --resume missing.checkpoint
# the same command line on other data: the trees' thresholds are not this data's bin bounds
cp "$data/count.train.csv" binary.train.csv 2>/dev/null
sed -i "s|$data/binary.train.csv|binary.train.csv|" e.json.checkpoint
expect_error "other training rows" "$rotor" boost train --data binary.train.csv --rounds 30 --out e.json \
  --resume e.json.checkpoint
echo ok
