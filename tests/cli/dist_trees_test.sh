#!/usr/bin/env bash
# `mpirun -np N rotor boost train` and `rotor forest train` (rotor/dist): the model of N ranks equals the
# one-process model on all rows (tests/cli/json_close.py: same trees, numbers up to float rounding) with
# the same metrics, for shards given as a file per rank (%d) and as row ranges of one file, N = 2, 3, 4.
# Faults: a shard with other columns, or a rank with another configuration, stops every rank with a
# `rotor: error:` before training; a rank killed with SIGKILL stops the job within a bound; no output
# file is written by any failed run. Checkpoints: a boosting run and a forest run (stopped, or a rank
# killed) resume at another N to the uninterrupted model.
set -uo pipefail
rotor=$1
data="$ROTOR_SOURCE_DIR/tests/trees/data"
close="$ROTOR_SOURCE_DIR/tests/cli/json_close.py"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mpi() { timeout 300 mpirun --oversubscribe --allow-run-as-root "$@"; }

train=$data/binary.train.csv  # 600 rows
# Shards of 200 rows (3 ranks) and 150 rows (4 ranks).
for n in 3 4; do
  rows=$((600 / n))
  for ((k = 0; k < n; k++)); do sed -n "$((k * rows + 1)),$(((k + 1) * rows))p" "$train" >"$tmp/s$n-$k.csv"; done
done

# --- boosting: eval metrics over all training rows and a validation set; row subsampling and column
# sampling use the same draws as one process.
args=(--objective binary:logistic --rounds 6 --max-depth 4 --subsample 0.8 --colsample-bynode 0.7 --seed 3
      --valid "$data/binary.test.csv" --eval-train --eval-metric auc --eval-metric logloss)
"$rotor" boost train --data "$train" --out "$tmp/one.json" "${args[@]}" >"$tmp/one.out" 2>/dev/null \
  || fail "one-process boost train failed"
check_boost() {  # $1 = label, $2 = model, $3 = stdout
  python3 "$close" "$tmp/one.json" "$2" || fail "$1: model differs from the one-process model"
  diff <(grep -E "^(train|valid)-" "$tmp/one.out") <(grep -E "^(train|valid)-" "$3") >/dev/null \
    || fail "$1: metrics differ: $(grep -E '^(train|valid)-' "$3") vs $(grep -E '^(train|valid)-' "$tmp/one.out")"
  grep -q "^trees=6 rows=600 features=6" "$3" || fail "$1: wrong summary: $(cat "$3")"
}
mpi -np 2 "$rotor" boost train --data "$train" --out "$tmp/two.json" "${args[@]}" >"$tmp/two.out" 2>/dev/null \
  || fail "boost train on 2 ranks (row ranges) failed"
check_boost "2 ranks, row ranges" "$tmp/two.json" "$tmp/two.out"
grep -q "^ranks=2" "$tmp/two.out" || fail "2 ranks: no ranks=2 line"
[ "$(grep -c '^train_s=' "$tmp/two.out")" -eq 1 ] || fail "2 ranks: more than rank 0 reported"
for n in 3 4; do
  mpi -np $n "$rotor" boost train --data "$tmp/s$n-%d.csv" --out "$tmp/m$n.json" "${args[@]}" >"$tmp/m$n.out" 2>/dev/null \
    || fail "boost train on $n ranks (a file per rank) failed"
  check_boost "$n ranks, file per rank" "$tmp/m$n.json" "$tmp/m$n.out"
done
# Lossguide growth and a regression objective, 3 ranks.
rargs=(--objective reg:squarederror --rounds 5 --grow-policy lossguide --max-leaves 8 --max-bin 16)
"$rotor" boost train --data "$data/regression.train.csv" --out "$tmp/r1.json" "${rargs[@]}" >/dev/null 2>&1 || fail "reg 1"
mpi -np 3 "$rotor" boost train --data "$data/regression.train.csv" --out "$tmp/r3.json" "${rargs[@]}" >/dev/null 2>&1 \
  || fail "reg 3 ranks"
python3 "$close" "$tmp/r1.json" "$tmp/r3.json" || fail "lossguide regression differs on 3 ranks"
# The check itself can fail: a model with another seed is not accepted as equal.
"$rotor" boost train --data "$train" --out "$tmp/other.json" "${args[@]:0:10}" --seed 4 >/dev/null 2>&1 \
  || fail "seed 4"
python3 "$close" "$tmp/one.json" "$tmp/other.json" >/dev/null && fail "json_close accepts a different model"

# --- forest: trees spread over the ranks, the same forest and OOB score.
fargs=(--trees 7 --max-depth 6 --seed 5 --impute-median)
"$rotor" forest train --data "$train" --out "$tmp/f1.json" "${fargs[@]}" >"$tmp/f1.out" || fail "forest 1"
for n in 2 3; do
  mpi -np $n "$rotor" forest train --data "$train" --out "$tmp/f$n.json" "${fargs[@]}" >"$tmp/f$n.out" \
    || fail "forest on $n ranks failed"
  python3 "$close" "$tmp/f1.json" "$tmp/f$n.json" || fail "forest on $n ranks differs"
  [ "$(grep '^oob' "$tmp/f1.out")" = "$(grep '^oob' "$tmp/f$n.out")" ] || fail "forest on $n ranks: OOB score differs"
done

# --- faults before training: every rank stops with one line naming the rank, no model written.
head -100 "$data/multiclass.train.csv" | cut -d, -f1-5 >"$tmp/bad-1.csv"  # 4 features instead of 6
cp "$tmp/s3-0.csv" "$tmp/bad-0.csv"
out=$(mpi -np 2 "$rotor" boost train --data "$tmp/bad-%d.csv" --out "$tmp/bad.json" --rounds 3 2>&1) \
  && fail "a shard with other columns was accepted"
[ "$(grep -c '^rotor: error: rank 1 of 2: the number of features differs' <<<"$out")" -eq 2 ] \
  || fail "column mismatch: not one error per rank: $out"
[ -e "$tmp/bad.json" ] && fail "column mismatch wrote a model"
out=$(mpi -np 1 "$rotor" boost train --data "$train" --out "$tmp/bad.json" --rounds 3 : \
          -np 1 "$rotor" boost train --data "$train" --out "$tmp/bad.json" --rounds 4 2>&1) \
  && fail "ranks with different configurations were accepted"
grep -q "^rotor: error: rank 1 of 2: the configuration (command line) differs" <<<"$out" \
  || fail "configuration mismatch: no clear error: $out"
[ -e "$tmp/bad.json" ] && fail "configuration mismatch wrote a model"
out=$(mpi -np 2 "$rotor" boost train --data "$tmp/missing-%d.csv" --out "$tmp/bad.json" --rounds 3 2>&1) \
  && fail "missing shards were accepted"
grep -q "^rotor: error: rank 0 of 2: .*missing-0.csv" <<<"$out" || fail "missing shard: no clear error: $out"
out=$(mpi -np 1 "$rotor" forest train --data "$train" --out "$tmp/bad.json" --trees 3 : \
          -np 1 "$rotor" forest train --data "$train" --out "$tmp/bad.json" --trees 4 2>&1) \
  && fail "forest ranks with different configurations were accepted"
grep -q "^rotor: error: rank 1 of 2: the configuration (command line) differs" <<<"$out" \
  || fail "forest configuration mismatch: no clear error: $out"

# --- a rank killed with SIGKILL mid-run: the job ends (bounded by the timeout) with an error, no model.
for ((i = 0; i < 40; ++i)); do cat "$train"; done >"$tmp/big.csv"
mpirun --oversubscribe --allow-run-as-root -np 2 "$rotor" boost train --data "$tmp/big.csv" --out "$tmp/killed.json" \
  --rounds 1000000 --max-depth 8 >"$tmp/killed.out" 2>&1 &
mpirun_pid=$!
ranks=""
for ((i = 0; i < 100; ++i)); do
  ranks=$(pgrep -P "$mpirun_pid" | tr '\n' ' ')
  [ "$(wc -w <<<"$ranks")" -eq 2 ] && break
  sleep 0.1
done
[ "$(wc -w <<<"$ranks")" -eq 2 ] || { kill "$mpirun_pid"; fail "could not find the 2 ranks of mpirun: $ranks"; }
sleep 2  # well into training
kill -KILL "${ranks##* }" 2>/dev/null || kill -KILL $(awk '{print $NF}' <<<"$ranks")
stopped=0
for ((i = 0; i < 600; ++i)); do  # at most 60 s
  if ! kill -0 "$mpirun_pid" 2>/dev/null; then stopped=1; break; fi
  sleep 0.1
done
if [ $stopped -eq 0 ]; then kill -KILL "$mpirun_pid"; fail "the job did not stop within 60 s of a rank's SIGKILL"; fi
wait "$mpirun_pid" && fail "the job with a killed rank exited 0"
grep -qi "signal 9\|killed" "$tmp/killed.out" || fail "no error naming the killed rank: $(cat "$tmp/killed.out")"
[ -e "$tmp/killed.json" ] && fail "the killed job wrote a model"

# --- a rank killed after a checkpoint: --resume (at N = 2, and alone) gives the uninterrupted N = 2 model.
opts=(--data "$tmp/big.csv" --rounds 3000 --max-depth 8 --subsample 0.8 --colsample 0.8)
mpi -np 2 "$rotor" boost train "${opts[@]}" --out "$tmp/whole.json" >/dev/null 2>&1 || fail "uninterrupted run failed"
# kill_after_checkpoint OUT ARGS...: runs `rotor ARGS... --out OUT` on 2 ranks, kills one with SIGKILL once
# OUT.checkpoint appears; the job must fail and write no model.
kill_after_checkpoint() {
  local out=$1; shift
  mpirun --oversubscribe --allow-run-as-root -np 2 "$rotor" "$@" --out "$out" >"$out.log" 2>&1 &
  local pid=$! i rank
  for ((i = 0; i < 600; ++i)); do [ -s "$out.checkpoint" ] && break; sleep 0.05; done
  [ -s "$out.checkpoint" ] || { kill -KILL "$pid"; fail "$1: no checkpoint appeared"; }
  rank=$(pgrep -P "$pid" | tail -1)
  [ -n "$rank" ] && kill -KILL "$rank"
  wait "$pid" && fail "$1: the job with a killed rank exited 0 (it finished before the kill?)"
  [ -e "$out" ] && fail "$1: the killed job wrote a model"
}
kill_after_checkpoint "$tmp/cut.json" boost train "${opts[@]}" --checkpoint-every 100
cp "$tmp/cut.json.checkpoint" "$tmp/saved.checkpoint"
mpi -np 2 "$rotor" boost train "${opts[@]}" --out "$tmp/cut.json" --checkpoint-every 100 \
  --resume "$tmp/saved.checkpoint" >/dev/null 2>&1 || fail "resume at N = 2 failed"
cmp -s "$tmp/cut.json" "$tmp/whole.json" || fail "the resumed N = 2 model differs from the uninterrupted one"
"$rotor" boost train "${opts[@]}" --out "$tmp/alone.json" --checkpoint-every 100 --resume "$tmp/saved.checkpoint" \
  >/dev/null 2>&1 || fail "resume alone failed"
python3 "$close" "$tmp/alone.json" "$tmp/whole.json" || fail "the model resumed alone differs from the N = 2 one"

# --- forest checkpoints: stopped after 3 of 7 trees (checkpoints every 2) on 2 ranks, resumed on 3 ranks
# and alone, the uninterrupted forest and OOB score; the checkpoint refuses another command line.
mpi -np 2 "$rotor" forest train --data "$train" --out "$tmp/fc.json" "${fargs[@]}" --checkpoint-every 2 --stop-at 3 \
  >"$tmp/fc.out" 2>&1 || fail "forest --stop-at failed: $(cat "$tmp/fc.out")"
grep -q "^stopped after tree 3" "$tmp/fc.out" || fail "forest --stop-at: no stop message: $(cat "$tmp/fc.out")"
[ -e "$tmp/fc.json" ] && fail "a stopped forest run wrote a model"
cp "$tmp/fc.json.checkpoint" "$tmp/fc1.checkpoint"
mpi -np 3 "$rotor" forest train --data "$train" --out "$tmp/fc.json" "${fargs[@]}" --checkpoint-every 2 \
  --resume "$tmp/fc.json.checkpoint" >"$tmp/fc3.out" 2>&1 || fail "forest resume on 3 ranks failed: $(cat "$tmp/fc3.out")"
cmp -s "$tmp/fc.json" "$tmp/f3.json" || fail "the resumed forest differs from the uninterrupted one"
[ "$(grep '^oob' "$tmp/f1.out")" = "$(grep '^oob' "$tmp/fc3.out")" ] || fail "resumed forest: OOB score differs"
"$rotor" forest train --data "$train" --out "$tmp/fca.json" "${fargs[@]}" --resume "$tmp/fc1.checkpoint" \
  >/dev/null 2>&1 || fail "forest resume alone failed"
cmp -s "$tmp/fca.json" "$tmp/f1.json" || fail "the forest resumed alone differs from the uninterrupted one"
out=$("$rotor" forest train --data "$train" --out "$tmp/fcb.json" --trees 9 --max-depth 6 --seed 5 --impute-median \
      --resume "$tmp/fc1.checkpoint" 2>&1) && fail "a forest checkpoint resumed with another --trees"
grep -q "^rotor: error: .*was saved by another command line" <<<"$out" || fail "no clear error for another --trees: $out"
echo '{"format": "rotor-forest-checkpoint", "trees_done": 2}' >"$tmp/broken.checkpoint"
out=$("$rotor" forest train --data "$train" --out "$tmp/fcb.json" "${fargs[@]}" --resume "$tmp/broken.checkpoint" 2>&1) &&
  fail "a broken forest checkpoint was accepted"
grep -q "^rotor: error: .*not a valid forest checkpoint" <<<"$out" || fail "no clear error for a broken checkpoint: $out"
[ -e "$tmp/fcb.json" ] && fail "a refused resume wrote a model"

# --- a forest rank killed after a checkpoint: the job stops, and --resume gives the uninterrupted forest.
ftrees=(--data "$tmp/big.csv" --trees 400 --max-depth 10 --seed 2 --impute-median)
mpi -np 2 "$rotor" forest train "${ftrees[@]}" --out "$tmp/fwhole.json" >/dev/null 2>&1 || fail "uninterrupted forest failed"
kill_after_checkpoint "$tmp/fcut.json" forest train "${ftrees[@]}" --checkpoint-every 4
mpi -np 2 "$rotor" forest train "${ftrees[@]}" --out "$tmp/fcut.json" --checkpoint-every 4 \
  --resume "$tmp/fcut.json.checkpoint" >/dev/null 2>&1 || fail "forest resume after the kill failed"
cmp -s "$tmp/fcut.json" "$tmp/fwhole.json" || fail "the forest resumed after the kill differs from the uninterrupted one"
echo ok
