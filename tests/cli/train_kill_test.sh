#!/usr/bin/env bash
# `rotor train` stopped at many moments (SIGKILL, SIGTERM, SIGINT at delays spread over the run, so some
# land inside a save): the run directory is always either absent or one complete save, SIGINT/SIGTERM
# save the current step, exit 128+N and leave no temporary files, and every interrupted run resumed to
# the end equals the uninterrupted run bit for bit (parameters and loss curve). Then a resume refuses a
# run whose files do not belong together: an edited config.json, a model.safetensors of another step,
# other --data.
set -uo pipefail
set -m  # background jobs get the default SIGINT disposition (a script's background jobs ignore it)
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
for i in $(seq 1 300); do echo "And God said, Let there be light: and there was light. $i"; done > text.txt
base=(--data text.txt --layers 2 --dim 64 --heads 4 --ctx 64 --batch 4 --eval-every 1 --threads 1)
run=("${base[@]}" --steps 30)
state_step() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['step'])" "$1/training_state.json"; }
no_leftovers() {
  local left
  left=$(ls -d "$1".tmp-* "$1".old-* "$1"/*.tmp-* 2>/dev/null)
  [ -z "$left" ] || fail "$2 left temporary files: $left"
}

"$rotor" train "${run[@]}" --out straight >/dev/null 2>log || fail "uninterrupted run failed: $(cat log)"
no_leftovers straight "the uninterrupted run"

resumed=0 inside_save=0
signals=(KILL TERM INT)
for i in $(seq 0 11); do
  sig=${signals[$((i % 3))]}
  delay=$(awk -v i="$i" 'BEGIN { printf "%.2f", 0.15 + 0.13 * i }')
  dir=k$i
  "$rotor" train "${run[@]}" --out $dir >/dev/null 2>err$i &
  job=$!
  sleep "$delay"
  kill -s "$sig" $job 2>/dev/null
  wait $job
  code=$?
  case $sig:$code in
    KILL:137 | TERM:143 | INT:130 | *:0) ;;
    *) fail "SIG$sig after ${delay}s: exit $code: $(cat err$i)" ;;
  esac
  [ "$sig" = KILL ] && ls -d $dir.tmp-* >/dev/null 2>&1 && inside_save=$((inside_save + 1))
  if [ "$sig" != KILL ] && [ $code -ne 0 ]; then
    msg=$(tail -n 1 err$i)
    [[ "$msg" =~ ^rotor:\ error:\ interrupted\ by\ SIG$sig\ after\ step\ ([0-9]+)\;\ the\ run\ is\ saved\ in\ $dir ]] ||
      fail "SIG$sig: unexpected last line: $msg"
    [ "$(state_step $dir)" -eq "${BASH_REMATCH[1]}" ] || fail "SIG$sig: the saved step is not the step reported: $msg"
    no_leftovers $dir "SIG$sig"
  fi
  if [ ! -e $dir/training_state.json ] && ! ls -d $dir.old-* >/dev/null 2>&1; then
    # stopped before the first save: there is nothing to resume, and a resume says so
    "$rotor" train --data text.txt --threads 1 --resume $dir >/dev/null 2>log && fail "resumed a run that was never saved"
    grep -q "^rotor: error: " log || fail "no clear error resuming an unsaved run: $(cat log)"
    continue
  fi
  if [ $code -ne 0 ] && [ "$(state_step $dir 2>/dev/null || echo 0)" -lt 30 ]; then  # (a signal in the last step saves step 30)
    "$rotor" train --data text.txt --threads 1 --resume $dir >/dev/null 2>log ||
      fail "resume after SIG$sig at ${delay}s failed: $(cat log)"
  fi
  cmp -s straight/model.safetensors $dir/model.safetensors || fail "SIG$sig at ${delay}s: resumed parameters differ"
  cmp -s straight/metrics.csv $dir/metrics.csv ||
    fail "SIG$sig at ${delay}s: resumed loss curve differs: $(diff straight/metrics.csv $dir/metrics.csv | head -5)"
  no_leftovers $dir "the resume after SIG$sig"
  resumed=$((resumed + 1))
done
[ $resumed -ge 8 ] || fail "only $resumed of 12 interrupted runs had a save to resume (the run is too short)"
echo "$resumed of 12 interrupted runs resumed to the uninterrupted result ($inside_save of 4 SIGKILLs landed inside a save)"

# a resume verifies the run as a whole
"$rotor" train "${base[@]}" --steps 6 --out a >/dev/null 2>&1 || fail "run a failed"
"$rotor" train "${base[@]}" --steps 6 --stop-at 3 --out b >/dev/null 2>&1 || fail "run b failed"
cp -r a edited && sed -i 's/"heads": 4/"heads": 2/' edited/config.json
grep -q '"heads": 2' edited/config.json || fail "the test did not edit config.json"
"$rotor" train --data text.txt --threads 1 --resume edited --steps 8 >/dev/null 2>log && fail "resumed an edited config.json"
grep -q "^rotor: error: .*config.json is not the file saved at step 6" log || fail "unclear error for an edited config: $(cat log)"
cp -r a mixed && cp b/model.safetensors mixed/model.safetensors
"$rotor" train --data text.txt --threads 1 --resume mixed --steps 8 >/dev/null 2>log && fail "resumed another step's model"
grep -q "^rotor: error: " log || fail "unclear error for another step's model: $(cat log)"
sed 's/light/LIGHT/' text.txt > other.txt
"$rotor" train --data other.txt --threads 1 --resume a --steps 8 >/dev/null 2>log && fail "resumed on other --data"
grep -q "^rotor: error: --data other.txt is not the text a was trained on" log || fail "unclear error for other data: $(cat log)"
mkdir notrun && echo hello > notrun/notes.txt
"$rotor" train "${base[@]}" --steps 2 --out notrun >/dev/null 2>log && fail "--out replaced a directory of other files"
grep -q "^rotor: error: --out notrun is a non-empty directory" log || fail "unclear error for a foreign --out: $(cat log)"
[ "$(cat notrun/notes.txt)" = hello ] || fail "--out touched a directory of other files"
echo ok
