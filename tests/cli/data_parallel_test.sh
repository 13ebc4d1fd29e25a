#!/usr/bin/env bash
# `mpirun -np N rotor train` (OpenMPI): N = 1, 2 and 4 processes give the losses and final parameters of
# one process with the same global batch (to float rounding: the gradient sums are ordered differently),
# in f32 and bf16; only rank 0 writes the run directory; a run saved under 2 processes resumes under 4 or
# alone to the uninterrupted run's result; the same for models trained on the tape (--mixer lstm, linear,
# --pos t5, alibi at N = 1, 2); ZeRO-1 (--shard-optimizer) gives the unsharded run's parameters bit for bit
# with half the moments on each of 2 ranks, and resumes, also for models trained on the tape (--mixer lstm,
# --objective mlm); a batch that does not split evenly is a one-line error before training; a rank killed with SIGKILL stops the whole job within seconds, and the run
# resumes from its last checkpoint to the uninterrupted result.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
command -v mpirun >/dev/null || fail "mpirun not found (scripts/setup.sh installs openmpi-bin)"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for i in $(seq 1 300); do echo "In the beginning God created the heaven and the earth. $i"; done > text.txt
mpi() { local n=$1; shift; timeout 120 mpirun --allow-run-as-root --oversubscribe -np "$n" "$rotor" "$@"; }
args=(--data text.txt --layers 2 --dim 32 --heads 4 --ctx 32 --batch 4 --eval-every 3 --steps 6 --threads 1)

# metrics.csv files agree to a relative 1e-5 (columns: step, train loss, validation loss, lr, grad norm)
same_metrics() {
  python3 - "$1" "$2" <<'PY' || fail "metrics differ: $1 vs $2"
import sys
a = [l.strip().split(',') for l in open(sys.argv[1])][1:]
b = [l.strip().split(',') for l in open(sys.argv[2])][1:]
assert len(a) == len(b) and len(a) > 0, (len(a), len(b))
for ra, rb in zip(a, b):
    for x, y in zip(ra, rb):
        if x == y: continue
        x, y = float(x), float(y)
        assert abs(x - y) <= 1e-5 * max(1.0, abs(y)), (ra, rb)
PY
}
# model.safetensors files hold the same tensors, equal to 1e-5 of the largest value
same_model() {
  python3 - "$1" "$2" <<'PY' || fail "parameters differ: $1 vs $2"
import json, struct, sys
def load(p):
    raw = open(p, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    head = json.loads(raw[8:8 + n]); body = raw[8 + n:]
    out = {}
    for k, v in head.items():
        if k == '__metadata__': continue
        assert v['dtype'] == 'F32'
        s, e = v['data_offsets']
        out[k] = struct.unpack('<%df' % ((e - s) // 4), body[s:e])
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys()
for k in a:
    scale = max(1.0, max(abs(v) for v in b[k]))
    worst = max(abs(x - y) for x, y in zip(a[k], b[k]))
    assert worst <= 1e-5 * scale, (k, worst)
PY
}

for dtype in f32 bf16; do
  "$rotor" train "${args[@]}" --dtype $dtype --out one-$dtype >/dev/null 2>log || fail "one process: $(cat log)"
  for n in 1 2 4; do
    mpi $n train "${args[@]}" --dtype $dtype --out n$n-$dtype >out 2>log || fail "$dtype -np $n failed: $(tail -n 5 log)"
    [ "$(grep -c '^tokens/s=' out)" -eq 1 ] || fail "-np $n: not one tokens/s line (rank 0 alone reports): $(cat out)"
    same_metrics one-$dtype/metrics.csv n$n-$dtype/metrics.csv
    same_model one-$dtype/model.safetensors n$n-$dtype/model.safetensors
  done
  grep -q "data parallel over 4 processes" log || fail "-np 4 does not say it runs data parallel: $(head -n 3 log)"
done
# the comparison can fail: a different global batch is a different run
"$rotor" train --data text.txt --layers 2 --dim 32 --heads 4 --ctx 32 --batch 2 --eval-every 3 --steps 6 --threads 1 \
  --dtype f32 --out b2 >/dev/null 2>&1 || fail "batch 2 failed"
( same_metrics one-f32/metrics.csv b2/metrics.csv ) >/dev/null 2>&1 && fail "batch 2 and batch 4 gave the same losses"

# saved under 2 processes, resumed under 4 and alone
mpi 2 train "${args[@]}" --dtype f32 --stop-at 3 --out r4 >/dev/null 2>&1 || fail "first half under -np 2 failed"
cp -r r4 r1
mpi 4 train --data text.txt --threads 1 --resume r4 >/dev/null 2>log || fail "resume under -np 4 failed: $(tail -n 3 log)"
"$rotor" train --data text.txt --threads 1 --resume r1 >/dev/null 2>log || fail "resume alone failed: $(cat log)"
same_model one-f32/model.safetensors r4/model.safetensors
same_model one-f32/model.safetensors r1/model.safetensors

# errors before training, on every rank
mpi 2 train --data text.txt --layers 2 --dim 32 --heads 4 --ctx 32 --batch 3 --steps 2 --threads 1 --out bad >/dev/null 2>err &&
  fail "-np 2 accepted --batch 3"
grep -q "^rotor: error: --batch 3 must be a multiple of the 2 processes" err || fail "no clear error for --batch 3: $(cat err)"
[ ! -e bad/model.safetensors ] || fail "--batch 3 wrote a model"

# models trained on the tape (--mixer, --pos t5|alibi, --objective mlm): the same as one process, and resumable under another N.
# Softmax attention with biases has a key bias whose gradient is zero but for rounding, which AdamW turns into
# steps of up to lr that differ with the summation order; rmsnorm models have no biases.
tape=(--data text.txt --layers 2 --dim 16 --ctx 16 --batch 4 --eval-every 3 --steps 6 --threads 1)
for model in "lstm --mixer lstm --dtype f32" "lstm16 --mixer lstm --dtype bf16" "linear --mixer linear --heads 2" \
             "t5 --pos t5 --heads 2 --norm rmsnorm" "alibi --pos alibi --heads 2 --norm rmsnorm --dtype f32" \
             "mlm --objective mlm --heads 2 --norm rmsnorm --dtype f32"; do
  read -r name flags <<<"$model"
  "$rotor" train "${tape[@]}" $flags --out $name-one >/dev/null 2>log || fail "$name, one process: $(cat log)"
  for n in 1 2; do
    mpi $n train "${tape[@]}" $flags --out $name-n$n >/dev/null 2>$name-n$n.log || fail "$name -np $n failed: $(tail -n 5 $name-n$n.log)"
    same_metrics $name-one/metrics.csv $name-n$n/metrics.csv
    same_model $name-one/model.safetensors $name-n$n/model.safetensors
  done
  grep -q "data parallel over 2 processes" $name-n2.log || fail "$name -np 2 does not say it runs data parallel"
done
mpi 2 train "${tape[@]}" --mixer lstm --dtype f32 --stop-at 3 --out lstm-r >/dev/null 2>&1 || fail "lstm first half under -np 2 failed"
cp -r lstm-r lstm-r1
"$rotor" train --data text.txt --threads 1 --resume lstm-r1 >/dev/null 2>log || fail "lstm resume alone failed: $(cat log)"
same_model lstm-one/model.safetensors lstm-r1/model.safetensors
same_metrics lstm-one/metrics.csv lstm-r1/metrics.csv
mpi 4 train --data text.txt --threads 1 --resume lstm-r >/dev/null 2>log || fail "lstm resume under -np 4 failed: $(tail -n 3 log)"
same_model lstm-one/model.safetensors lstm-r/model.safetensors

# ZeRO-1 on the tape: whole parameters dealt to the ranks, each stepped by its owner and broadcast; bit for bit
# the unsharded run (parameters and the gathered moments), fewer moments on rank 0, and resumable under another N
for model in "lstm --mixer lstm --dtype f32" "mlm --objective mlm --heads 2 --norm rmsnorm --dtype f32"; do
  read -r name flags <<<"$model"
  mpi 2 train "${tape[@]}" $flags --shard-optimizer --out $name-z2 >/dev/null 2>zlog || fail "$name sharded -np 2 failed: $(tail -n 5 zlog)"
  cmp -s $name-n2/model.safetensors $name-z2/model.safetensors || fail "$name sharded: parameters differ from unsharded -np 2"
  cmp -s $name-n2/optimizer.safetensors $name-z2/optimizer.safetensors || fail "$name sharded: moments differ from unsharded -np 2"
  sharded=$(grep -o "optimizer state: [0-9]* bytes" zlog | grep -o "[0-9]*")
  unsharded=$(grep -o "optimizer state: [0-9]* bytes" $name-n2.log | grep -o "[0-9]*")
  [ -n "$sharded" ] && [ -n "$unsharded" ] && [ "$sharded" -lt "$unsharded" ] ||
    fail "$name: rank 0's sharded moments ($sharded bytes) are not fewer than the unsharded ($unsharded bytes)"
done
mpi 2 train "${tape[@]}" --mixer lstm --dtype f32 --shard-optimizer --stop-at 3 --out lstm-zr >/dev/null 2>&1 ||
  fail "sharded lstm first half failed"
cp -r lstm-zr lstm-zr1
mpi 4 train --data text.txt --threads 1 --shard-optimizer --resume lstm-zr >/dev/null 2>log ||
  fail "sharded lstm resume under -np 4 failed: $(tail -n 3 log)"
"$rotor" train --data text.txt --threads 1 --resume lstm-zr1 >/dev/null 2>log || fail "sharded lstm resume alone failed: $(cat log)"
same_model lstm-one/model.safetensors lstm-zr/model.safetensors
same_model lstm-one/model.safetensors lstm-zr1/model.safetensors

# ZeRO-1 (--shard-optimizer): each rank keeps the moments of its slice; the same run as unsharded, whose
# parameters it gives bit for bit (the same elementwise AdamW on each slice), and resumable sharded or not
for dtype in f32 bf16; do
  mpi 2 train "${args[@]}" --dtype $dtype --shard-optimizer --out z2-$dtype >/dev/null 2>log || fail "sharded $dtype -np 2 failed: $(tail -n 5 log)"
  same_metrics one-$dtype/metrics.csv z2-$dtype/metrics.csv
  cmp -s n2-$dtype/model.safetensors z2-$dtype/model.safetensors || fail "sharded $dtype: parameters differ from unsharded -np 2"
  cmp -s n2-$dtype/optimizer.safetensors z2-$dtype/optimizer.safetensors || fail "sharded $dtype: moments differ from unsharded -np 2"
done
sharded=$(grep -o "optimizer state: [0-9]* bytes" log | grep -o "[0-9]*")
mpi 2 train "${args[@]}" --dtype bf16 --out n2-bytes >/dev/null 2>log || fail "unsharded -np 2 failed"
unsharded=$(grep -o "optimizer state: [0-9]* bytes" log | grep -o "[0-9]*")
[ -n "$sharded" ] && [ -n "$unsharded" ] && [ $((2 * sharded)) -le $((unsharded + 8)) ] && [ $((2 * sharded)) -ge $((unsharded - 8)) ] ||
  fail "rank 0's sharded moments ($sharded bytes) are not half of the unsharded ($unsharded bytes)"
mpi 2 train "${args[@]}" --dtype f32 --shard-optimizer --stop-at 3 --out zr >/dev/null 2>&1 || fail "sharded first half failed"
cp -r zr zr1
mpi 4 train --data text.txt --threads 1 --shard-optimizer --resume zr >/dev/null 2>log || fail "sharded resume under -np 4 failed: $(tail -n 3 log)"
"$rotor" train --data text.txt --threads 1 --resume zr1 >/dev/null 2>log || fail "unsharded resume alone failed: $(cat log)"
same_model one-f32/model.safetensors zr/model.safetensors
same_model one-f32/model.safetensors zr1/model.safetensors

# a rank killed mid-run: the job stops (bounded by the timeout below), then the run resumes
long=(--data text.txt --layers 2 --dim 32 --heads 4 --ctx 32 --batch 4 --eval-every 50 --steps 100000 --threads 1 --dtype f32)
mpirun --allow-run-as-root --oversubscribe -np 2 "$rotor" train "${long[@]}" --out killed >/dev/null 2>kill.log &
job=$!
for _ in $(seq 1 100); do [ -s killed/training_state.json ] && break; sleep 0.1; done
[ -s killed/training_state.json ] || { kill $job; fail "the long run saved no checkpoint"; }
victim=$(pgrep -P $job -f "rotor train" | tail -n 1)
[ -n "$victim" ] || { kill $job; fail "no rank process found under mpirun"; }
kill -9 "$victim"
start=$(date +%s)
for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
kill -0 $job 2>/dev/null && { kill -9 $job; fail "the job did not stop within 30 s of losing a rank"; }
wait $job && fail "the job exited 0 after losing a rank"
echo "job stopped $(( $(date +%s) - start )) s after the kill"
step=$(python3 -c "import json; print(json.load(open('killed/training_state.json'))['step'])") || fail "unreadable training_state.json"
[ "$step" -gt 0 ] && [ $((step % 50)) -eq 0 ] || fail "the saved step $step is not a checkpoint step"
target=$((step + 10))
"$rotor" train --data text.txt --threads 1 --resume killed --stop-at $target >/dev/null 2>log || fail "resume after the kill failed: $(cat log)"
"$rotor" train "${long[@]}" --stop-at $target --out straight >/dev/null 2>&1 || fail "uninterrupted run failed"
same_model straight/model.safetensors killed/model.safetensors
echo ok
