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
# OpenMP's wait policy: rotor's short spin by default (applied by re-executing itself), the user's setting otherwise.
out=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$rotor" info) || fail "rotor info failed"
grep -q "^openmp wait: GOMP_SPINCOUNT=[0-9]* (rotor's default)$" <<<"$out" || fail "no default wait policy: $out"
out=$(env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active "$rotor" info) || fail "rotor info failed"
grep -q "^openmp wait: OMP_WAIT_POLICY=active$" <<<"$out" || fail "OMP_WAIT_POLICY not honoured: $out"
grep -q "GOMP_SPINCOUNT" <<<"$out" && fail "default applied over the user's OMP_WAIT_POLICY: $out"
out=$(env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=123 "$rotor" info) || fail "rotor info failed"
grep -q "^openmp wait: GOMP_SPINCOUNT=123$" <<<"$out" || fail "GOMP_SPINCOUNT not honoured: $out"
echo ok
