#!/usr/bin/env bash
# rotor tokenize / detokenize: round trips, special-token modes, thread independence, and one-line
# errors for bad input (unknown encodings, malformed or missing rank files, bad ids, invalid UTF-8).
set -uo pipefail
rotor=$1
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Expect a non-zero exit and exactly one line "rotor: error: ..." containing $2.
expect_error() {
  local what=$1 needle=$2; shift 2
  local err code
  err=$("$@" 2>&1 >/dev/null); code=$?
  [ $code -ne 0 ] || fail "$what: exit 0"
  [ $code -lt 128 ] || fail "$what: crashed (exit $code)"
  [[ "$err" == "rotor: error: "* ]] || fail "$what: unexpected error text: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: error is not one line: $err"
  [[ "$err" == *"$needle"* ]] || fail "$what: error lacks '$needle': $err"
}

printf 'Hello, world! Ünïcödé 😀 and\n  code: x += 1;' > "$tmp/in.txt"
for enc in gpt2 r50k_base p50k_base p50k_edit cl100k_base o200k_base; do
  "$rotor" tokenize --encoding $enc < "$tmp/in.txt" > "$tmp/ids" || fail "$enc tokenize"
  "$rotor" detokenize --encoding $enc < "$tmp/ids" > "$tmp/out.txt" || fail "$enc detokenize"
  cmp -s "$tmp/in.txt" "$tmp/out.txt" || fail "$enc round trip"
  count=$("$rotor" tokenize --encoding $enc --count < "$tmp/in.txt")
  [ "$count" -eq "$(wc -w < "$tmp/ids")" ] || fail "$enc --count $count"
done
[ "$(printf 'hello world' | "$rotor" tokenize --encoding cl100k_base)" = "15339 1917" ] || fail "cl100k ids"

# Special tokens: error by default, encoded with --allow-special, text with --special-as-text.
expect_error "special by default" "special token <|endoftext|>" \
  bash -c "printf 'a<|endoftext|>b' | '$rotor' tokenize --encoding cl100k_base"
[ "$(printf 'a<|endoftext|>b' | "$rotor" tokenize --encoding cl100k_base --allow-special)" = "64 100257 65" ] \
  || fail "--allow-special"
as_text=$(printf 'a<|endoftext|>b' | "$rotor" tokenize --encoding cl100k_base --special-as-text)
[ "$(wc -w <<<"$as_text")" -gt 3 ] || fail "--special-as-text: $as_text"
[ "$(printf '100257' | "$rotor" detokenize --encoding cl100k_base)" = "<|endoftext|>" ] || fail "decode special"
expect_error "both special flags" "excludes" \
  bash -c "printf 'a' | '$rotor' tokenize --encoding cl100k_base --allow-special --special-as-text"

# Threads do not change the result on a large input.
for i in $(seq 1 30000); do echo "Line $i of the text, with words and 123 numbers."; done > "$tmp/big.txt"
a=$("$rotor" tokenize --encoding o200k_base --threads 1 < "$tmp/big.txt" | md5sum) || fail "tokenize --threads 1 failed"
b=$("$rotor" tokenize --encoding o200k_base --threads 2 < "$tmp/big.txt" | md5sum) || fail "tokenize --threads 2 failed"
[ "$a" = "$b" ] || fail "thread count changes the tokens"

# --ranks with a file, and the pattern for a file without --encoding.
src=${ROTOR_SOURCE_DIR:-$(dirname "$0")/../..}
ranks=$src/data/tiktoken/cl100k_base.tiktoken
[ -f "$ranks" ] || ranks=${ROTOR_DATA_DIR:-/nonexistent}/tiktoken/cl100k_base.tiktoken
[ "$(printf 'hello world' | "$rotor" tokenize --ranks "$ranks" --pattern cl100k)" = "15339 1917" ] || fail "--ranks --pattern"

# Bad input.
expect_error "unknown encoding" "unknown encoding 'cl200k'" \
  bash -c "printf 'a' | '$rotor' tokenize --encoding cl200k"
expect_error "missing ranks" "cannot" \
  bash -c "printf 'a' | '$rotor' tokenize --encoding cl100k_base --ranks '$tmp/none.tiktoken'"
expect_error "no data dir" "not found" \
  bash -c "printf 'a' | ROTOR_DATA_DIR='$tmp/empty' '$rotor' tokenize --encoding o200k_base"
printf 'YQ== 0\nYg=* 1\n' > "$tmp/bad64.tiktoken"
expect_error "bad base64" "bad64.tiktoken:2: malformed base64" \
  bash -c "printf 'a' | '$rotor' tokenize --ranks '$tmp/bad64.tiktoken' --pattern gpt2"
printf 'YQ== 0\nYg== 0\n' > "$tmp/duprank.tiktoken"
expect_error "duplicate rank" "rank 0 repeats line 1" \
  bash -c "printf 'a' | '$rotor' tokenize --ranks '$tmp/duprank.tiktoken' --pattern gpt2"
printf 'YQ== 0\nYQ== 1\n' > "$tmp/duptok.tiktoken"
expect_error "duplicate token" "repeats line 1" \
  bash -c "printf 'a' | '$rotor' tokenize --ranks '$tmp/duptok.tiktoken' --pattern gpt2"
printf 'YQ== 0\nYg== 1\n' > "$tmp/small.tiktoken"
expect_error "missing bytes" "has no rank" \
  bash -c "printf 'a' | '$rotor' tokenize --ranks '$tmp/small.tiktoken' --pattern gpt2"
expect_error "ranks without pattern" "needs --pattern" \
  bash -c "printf 'a' | '$rotor' tokenize --ranks '$tmp/small.tiktoken'"
expect_error "invalid UTF-8" "not valid UTF-8 at byte offset 2" \
  bash -c "printf 'ab\\xff' | '$rotor' tokenize --encoding gpt2"
expect_error "id outside vocabulary" "token id 300000 is not in the vocabulary" \
  bash -c "printf '1 2 300000' | '$rotor' detokenize --encoding cl100k_base"
expect_error "non-numeric id" "input word 2 ('x7') is not a token id" \
  bash -c "printf '1 x7' | '$rotor' detokenize --encoding cl100k_base"
expect_error "id overflow" "is not a token id" \
  bash -c "printf '99999999999' | '$rotor' detokenize --encoding cl100k_base"

# sentencepiece models: line-by-line ids as spm_encode gives them, and bad model files.
spdir=$src/tests/text/reference/sentencepiece
for model in bpe_nfkc_bytes unigram_identity; do
  "$rotor" tokenize --sp-model "$spdir/$model.model" < "$spdir/input.txt" | cmp -s - "$spdir/$model.ids" \
    || fail "--sp-model $model ids"
  "$rotor" detokenize --sp-model "$spdir/$model.model" < "$spdir/$model.ids" | cmp -s - "$spdir/$model.decoded" \
    || fail "--sp-model $model decode"
done
head -c 3000 "$spdir/unigram_identity.model" > "$tmp/cut.model"
expect_error "truncated model" "truncated protobuf" \
  bash -c "printf 'a' | '$rotor' tokenize --sp-model '$tmp/cut.model'"
printf 'hello' > "$tmp/text.model"
expect_error "not a model" "cut.model" bash -c "printf 'a' | '$rotor' tokenize --sp-model '$tmp/cut.model'"
expect_error "garbage model" "text.model" bash -c "printf 'a' | '$rotor' tokenize --sp-model '$tmp/text.model'"
expect_error "sp id outside vocabulary" "outside the vocabulary" \
  bash -c "printf '5 99999' | '$rotor' detokenize --sp-model '$spdir/unigram_identity.model'"
echo ok
