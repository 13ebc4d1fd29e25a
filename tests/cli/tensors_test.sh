#!/usr/bin/env bash
# `rotor tensors` lists reference files written by torch/numpy and rejects corrupted safetensors with
# one error line naming the file.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
data=${ROTOR_SOURCE_DIR:?}/tests/io/data
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
out=$("$rotor" tensors "$data/mixed.safetensors") || fail "listing failed"
grep -qx $'a.bf16\tBF16\t\\[4\\]' <<<"$out" || fail "missing a.bf16: $out"
grep -qx '# format: pt' <<<"$out" || fail "missing metadata: $out"
[ "$(grep -vc '^#' <<<"$out")" -eq 9 ] || fail "expected 9 tensors: $out"
out=$("$rotor" tensors "$data/sharded/model.safetensors.index.json") || fail "sharded listing failed"
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "expected 3 sharded tensors: $out"
out=$("$rotor" tensors "$data/f64_fortran_2x3.npy") || fail "npy listing failed"
[[ "$out" == *$'f64\t[2, 3]' ]] || fail "unexpected npy listing: $out"
check_error() {  # file, expected fragment
  local err code
  err=$("$rotor" tensors "$1" 2>&1); code=$?
  [ $code -ne 0 ] || fail "$1 accepted"
  [[ "$err" == "rotor: error: safetensors '$1': "*"$2"* ]] || fail "unexpected error for $1: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"
}
head -c 100 "$data/mixed.safetensors" > "$tmp/truncated.safetensors"
check_error "$tmp/truncated.safetensors" "exceeds the 92 bytes"
head -c 5 "$data/mixed.safetensors" > "$tmp/tiny.safetensors"
check_error "$tmp/tiny.safetensors" "too short"
sed 's/"F32"/"F99"/' "$data/mixed.safetensors" > "$tmp/dtype.safetensors"
check_error "$tmp/dtype.safetensors" "unknown dtype 'F99'"
cp "$data/mixed.safetensors" "$tmp/extra.safetensors"; printf 'xyz' >> "$tmp/extra.safetensors"
check_error "$tmp/extra.safetensors" "last 3 bytes of the data region belong to no tensor"
echo ok
