#!/usr/bin/env bash
# `rotor rf`: VGG-16's last pooling layer has receptive field 212 and jump 32 (Araujo et al., Distill
# 2019); a JSON config is read layer by layer; bad input gets a one-line error and a non-zero exit.
set -euo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
out=$("$rotor" rf --net vgg16)
grep -Eq '^pool5 +212 +32 ' <<<"$out" || fail "vgg16 pool5: $out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo '{"layers": [{"name": "c", "kernel": 3, "padding": 1}, {"name": "p", "kernel": 2, "stride": 2}, {"name": "d", "kernel": 3, "dilation": 2}]}' >"$tmp/net.json"
out=$("$rotor" rf --config "$tmp/net.json")
grep -Eq '^d +12 +2 ' <<<"$out" || fail "config: $out"
for bad in '{"layers": []}' '{"layers": [{"kernel": "3"}]}' 'nope' '{"layers": [{"kernel": 0}]}'; do
  echo "$bad" >"$tmp/bad.json"
  code=0; err=$("$rotor" rf --config "$tmp/bad.json" 2>&1 >/dev/null) || code=$?
  [ "$code" -ne 0 ] || fail "accepted $bad"
  [[ "$err" == "rotor: error: rf"* ]] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "error for $bad: $err"
done
code=0; err=$("$rotor" rf --net resnet 2>&1 >/dev/null) || code=$?
[ "$code" -ne 0 ] && [[ "$err" == *"unknown net"* ]] || fail "unknown net: $err"
echo ok
