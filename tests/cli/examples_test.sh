#!/usr/bin/env bash
# The library as another project uses it: `cmake --install` into a fresh prefix, then examples/ configured with
# find_package(rotor) against that prefix only, built, and run. train_classifier must learn its task;
# boost_predict must print the same predictions as `rotor boost predict` for the same model and rows.
set -euo pipefail
rotor=$1
src=${ROTOR_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(cd "$(dirname "$rotor")/.." && pwd)
data=$src/tests/trees/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
[ -f "$tmp/prefix/lib/cmake/rotor/rotorConfig.cmake" ] || fail "no CMake package installed"
[ -f "$tmp/prefix/include/rotor/autograd/var.h" ] || fail "headers not installed"
[ ! -e "$tmp/prefix/include/rotor/cli" ] || fail "the program's private headers were installed"
"$tmp/prefix/bin/rotor" --version >/dev/null || fail "installed rotor does not run"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$tmp/prefix" "${launcher[@]}" >"$tmp/configure.log" 2>&1 \
  || { cat "$tmp/configure.log"; fail "examples do not configure against the installed package"; }
cmake --build "$tmp/ex" -j2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "examples do not build"; }

out=$("$tmp/ex/train_classifier") || fail "train_classifier did not learn: $out"
grep -q '^test_accuracy=' <<<"$out" || fail "train_classifier printed no accuracy: $out"

"$rotor" boost train --data "$data/multiclass.train.csv" --objective multi:softprob --num-class 3 --rounds 5 \
  --out "$tmp/m.json" >/dev/null || fail "rotor boost train"
"$rotor" boost predict --model "$tmp/m.json" --data "$data/multiclass.test.csv" --out "$tmp/want.txt" >/dev/null \
  || fail "rotor boost predict"
"$tmp/ex/boost_predict" "$tmp/m.json" "$data/multiclass.test.csv" >"$tmp/got.txt" || fail "boost_predict failed"
[ -s "$tmp/got.txt" ] || fail "boost_predict printed nothing"
cmp "$tmp/want.txt" "$tmp/got.txt" || fail "boost_predict differs from rotor boost predict"

# Its errors: a missing model file is one line on stderr and exit 1, nothing on stdout.
if "$tmp/ex/boost_predict" "$tmp/none.json" "$data/multiclass.test.csv" >"$tmp/o.txt" 2>"$tmp/e.txt"; then
  fail "boost_predict accepted a missing model"
fi
[ "$(wc -l <"$tmp/e.txt")" -eq 1 ] && [ ! -s "$tmp/o.txt" ] || fail "missing-model error is not one line: $(cat "$tmp/e.txt")"
echo "examples_test: ok"
