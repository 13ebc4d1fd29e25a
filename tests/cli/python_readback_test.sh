#!/usr/bin/env bash
# Files rotor writes (NPY, safetensors of every dtype) read back by an independent Python reader:
# tests/io/make_reference.py --check (numpy's np.load for NPY, its own header/byte parsing for safetensors).
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
bin=$(dirname "$rotor")
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is missing (scripts/setup.sh installs it)"
# the C++ writer tests put their files in <build>/test_tmp/<name>-<pid>; exec keeps the pid known here
bash -c "exec '$bin/rotor_tests' --gtest_filter='NpyWriter.FilesForNumpy:SafetensorsWriter.FilesForPython'" \
  >/dev/null 2>&1 &
pid=$!
wait $pid || fail "the writer tests failed"
n=0
for name in rotor_written_npy rotor_written_safetensors; do
  dir=$(find "$bin/.." -maxdepth 2 -type d -name "$name-$pid" | head -n 1)
  [ -n "$dir" ] || fail "no $name-$pid directory"
  count=$(find "$dir" -name '*.npy' -o -name '*.safetensors' | wc -l)
  [ "$count" -ge 1 ] || fail "$dir holds no files to check"
  n=$((n + count))
  out=$(/usr/bin/python3 "$ROTOR_SOURCE_DIR/tests/io/make_reference.py" --check "$dir") || fail "read-back failed: $out"
  grep -q MISMATCH <<<"$out" && fail "mismatch: $out"
  rm -rf "$dir"
done
echo "ok ($n files)"
