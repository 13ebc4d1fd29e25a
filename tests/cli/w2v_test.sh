#!/usr/bin/env bash
# `rotor w2v`: trains on a small planted corpus, reads its own text and binary output, and answers bad
# input (missing/empty files, malformed vectors, unknown options) with one line and a non-zero exit.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# expect_error DESCRIPTION EXPECTED_TEXT COMMAND...: non-zero exit (not a crash), one line "rotor: error: ...".
expect_error() {
  local what=$1 expected=$2
  shift 2
  local err code
  err=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "$what: exit code 0"
  [ $code -lt 128 ] || fail "$what: crashed (exit $code)"
  [[ "$err" == "rotor: error: "* ]] || fail "$what: unexpected error text: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: error is not one line: $err"
  [[ "$err" == *"$expected"* ]] || fail "$what: error does not mention '$expected': $err"
}

# Two topics: sentences mix the words of one topic only.
for i in $(seq 1 300); do
  if [ $((i % 2)) -eq 0 ]; then echo "sun moon star sky cloud rain sun star moon sky cloud rain"
  else echo "fish boat sea wave shore sail fish sea boat wave shore sail"; fi
done > "$dir/corpus.txt"

out=$("$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/v.txt" --dim 16 --min-count 1 --epochs 3 \
      --threads 1 --seed 2 2>"$dir/progress.txt") || fail "train exited non-zero: $(cat "$dir/progress.txt")"
[[ "$(tail -n 1 <<<"$out")" =~ ^words/s=[0-9]+$ ]] || fail "last line is not words/s=N: $out"
grep -q "words/s" "$dir/progress.txt" || fail "no progress line: $(cat "$dir/progress.txt")"
[ "$(head -n 1 "$dir/v.txt")" = "12 16" ] || fail "header: $(head -n 1 "$dir/v.txt")"
[ "$(wc -l <"$dir/v.txt")" -eq 13 ] || fail "line count"

"$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/v.bin" --dim 16 --min-count 1 --epochs 3 --binary \
  --cbow --hs --threads 2 >/dev/null 2>&1 || fail "binary cbow+hs training failed"
for v in v.txt v.bin; do
  nb=$("$rotor" w2v neighbors --vectors "$dir/$v" sun --k 3) || fail "neighbors on $v failed"
  [ "$(wc -l <<<"$nb")" -eq 3 ] || fail "neighbors on $v: expected 3 lines: $nb"
  for w in $(cut -d' ' -f1 <<<"$nb"); do
    case $w in moon|star|sky|cloud|rain) ;; *) fail "neighbour of sun in $v from the other topic: $nb";; esac
  done
done
printf ': weather\nsun moon star sky\nSUN MOON unknown sky\n' > "$dir/q.txt"
an=$("$rotor" w2v analogy --vectors "$dir/v.bin" --questions "$dir/q.txt") || fail "analogy failed"
grep -q "^coverage=50.00% (1 of 2 questions" <<<"$an" || fail "coverage: $an"
grep -q "^accuracy=" <<<"$an" || fail "no accuracy line: $an"

# Bad input. An existing output must survive a failed run.
echo "keep me" > "$dir/existing.vec"
expect_error "missing input" "cannot read" "$rotor" w2v train --input "$dir/nope.txt" --out "$dir/existing.vec"
: > "$dir/empty.txt"
expect_error "empty corpus" "no words" "$rotor" w2v train --input "$dir/empty.txt" --out "$dir/existing.vec"
expect_error "min-count too high" "min-count=1000" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/existing.vec" --min-count 1000
expect_error "negative 0 without hs" "--negative 0 needs --hs" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/existing.vec" --negative 0
expect_error "bad dim" "--dim 0" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/existing.vec" --dim 0
expect_error "zero lr" "--lr 0 must be positive" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/existing.vec" --lr 0
[ "$(cat "$dir/existing.vec")" = "keep me" ] || fail "existing output was modified"
expect_error "unwritable output" "cannot write" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/no/such/dir/v.txt" --min-count 1
expect_error "unknown option" "bogus" "$rotor" w2v train --input "$dir/corpus.txt" --out "$dir/x.vec" --bogus
expect_error "missing --out" "--out" "$rotor" w2v train --input "$dir/corpus.txt"
expect_error "no subcommand" "" "$rotor" w2v
expect_error "unknown subcommand" "" "$rotor" w2v fly
ls "$dir" | grep -q tmp- && fail "temporary file left behind"

printf '2 3\na 1 2 3\nb 1 2\n' > "$dir/short.vec"
expect_error "short row" "line 3" "$rotor" w2v neighbors --vectors "$dir/short.vec" a
printf '2 3\na 1 2 3\nb 1 2 nan\n' > "$dir/nan.vec"
expect_error "nan value" "not finite" "$rotor" w2v neighbors --vectors "$dir/nan.vec" a
printf 'hello\n' > "$dir/header.vec"
expect_error "bad header" "line 1" "$rotor" w2v analogy --vectors "$dir/header.vec" --questions "$dir/q.txt"
head -c 200 "$dir/v.bin" > "$dir/truncated.bin"
expect_error "truncated binary" "truncated" "$rotor" w2v neighbors --vectors "$dir/truncated.bin" sun
expect_error "missing vectors" "cannot read" "$rotor" w2v neighbors --vectors "$dir/none.vec" sun
expect_error "unknown word" "'zebra' is not in the vectors" "$rotor" w2v neighbors --vectors "$dir/v.txt" zebra
printf ': s\nsun moon star\n' > "$dir/badq.txt"
expect_error "malformed questions" "line 2: expected 4 words" "$rotor" w2v analogy --vectors "$dir/v.txt" --questions "$dir/badq.txt"
expect_error "missing questions" "cannot read" "$rotor" w2v analogy --vectors "$dir/v.txt" --questions "$dir/nq.txt"
# a word with a control byte cannot be written so that the reader agrees: training refuses it (issue 17)
for i in $(seq 1 50); do printf 'sun moon es\001c star\n'; done >"$dir/ctl.txt"
expect_error "control byte" "control byte 1" "$rotor" w2v train --input "$dir/ctl.txt" --out "$dir/ctl.vec" --min-count 1 --threads 1
[ ! -e "$dir/ctl.vec" ] || fail "control byte: a vectors file was written"
echo ok
