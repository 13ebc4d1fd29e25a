#!/usr/bin/env bash
# The program starts, reports its build, and rejects unknown options with a one-line error.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
out=$("$rotor" info --threads 1) || fail "rotor info exited non-zero"
grep -q "threads: 1" <<<"$out" || fail "threads not applied: $out"
err=$("$rotor" info --bogus 2>&1 >/dev/null); code=$?
[ $code -ne 0 ] || fail "unknown option accepted"
[[ "$err" == "rotor: error: "* ]] || fail "unexpected error text: $err"
[ "$(wc -l <<<"$err")" -eq 1 ] || fail "error is not one line: $err"
err=$(ROTOR_NUM_THREADS=abc "$rotor" info 2>&1); [ $? -ne 0 ] || fail "bad ROTOR_NUM_THREADS accepted"
[[ "$err" == "rotor: error: ROTOR_NUM_THREADS"* ]] || fail "unexpected: $err"
echo ok
