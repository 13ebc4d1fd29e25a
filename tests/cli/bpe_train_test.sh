#!/usr/bin/env bash
# rotor bpe train: the output loads in tokenize/detokenize (pattern and specials from FILE.json), is the
# same on 1 and 2 threads, and bad input gives one-line errors without leaving an output file.
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 3000); do echo "The $i-th line says: the quick brown fox jumps over the lazy dog's back."; done > "$tmp/corpus.txt"
"$rotor" bpe train --input "$tmp/corpus.txt" --vocab-size 400 --pattern o200k --out "$tmp/a.tiktoken" --threads 1 2>/dev/null \
  || fail "train"
"$rotor" bpe train --input "$tmp/corpus.txt" --vocab-size 400 --pattern o200k --out "$tmp/b.tiktoken" --threads 2 2>/dev/null \
  || fail "train, 2 threads"
cmp -s "$tmp/a.tiktoken" "$tmp/b.tiktoken" || fail "threads change the vocabulary"
[ "$(wc -l < "$tmp/a.tiktoken")" -eq 400 ] || fail "vocabulary size"
grep -q '"pattern": "o200k"' "$tmp/a.tiktoken.json" || fail "pattern not recorded"
printf 'the lazy fox<|endoftext|>' > "$tmp/in.txt"
"$rotor" tokenize --ranks "$tmp/a.tiktoken" --allow-special < "$tmp/in.txt" > "$tmp/ids" || fail "tokenize"
grep -q ' 400$' "$tmp/ids" || fail "special token id: $(cat "$tmp/ids")"
"$rotor" detokenize --ranks "$tmp/a.tiktoken" < "$tmp/ids" > "$tmp/out.txt" || fail "detokenize"
cmp -s "$tmp/in.txt" "$tmp/out.txt" || fail "round trip"

expect_error() {
  local what=$1 needle=$2; shift 2
  local err code
  err=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] && [ $code -lt 128 ] || fail "$what: exit $code"
  [[ "$err" == "rotor: error: "* ]] && [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: $err"
  [[ "$err" == *"$needle"* ]] || fail "$what: error lacks '$needle': $err"
}
: > "$tmp/empty.txt"
expect_error "empty corpus" "is empty" "$rotor" bpe train --input "$tmp/empty.txt" --vocab-size 300 --out "$tmp/c.tiktoken"
expect_error "small vocabulary" "below 256" "$rotor" bpe train --input "$tmp/corpus.txt" --vocab-size 100 --out "$tmp/c.tiktoken"
expect_error "missing input" "cannot" "$rotor" bpe train --input "$tmp/none.txt" --vocab-size 300 --out "$tmp/c.tiktoken"
expect_error "bad pattern" "unknown pre-tokenization pattern" "$rotor" bpe train --input "$tmp/corpus.txt" --vocab-size 300 --pattern llama --out "$tmp/c.tiktoken"
expect_error "repeated special" "given twice" "$rotor" bpe train --input "$tmp/corpus.txt" --vocab-size 300 --out "$tmp/c.tiktoken" --special '<|a|>' --special '<|a|>'
printf 'ok\xc3(' > "$tmp/bad.txt"
expect_error "invalid UTF-8" "not valid UTF-8 at byte offset 2" "$rotor" bpe train --input "$tmp/bad.txt" --vocab-size 300 --out "$tmp/c.tiktoken"
[ ! -e "$tmp/c.tiktoken" ] || fail "output written despite errors"
ls "$tmp" | grep -q tmp- && fail "temporary file left behind"
echo ok
