#!/usr/bin/env bash
# Generates the sentencepiece reference that tests/text/sentencepiece_test.cpp compares against:
# small models trained by Debian's spm_train (sentencepiece 0.1.97) and the ids spm_encode gives for a
# varied input, plus what spm_decode makes of those ids. Run from the repository root:
#   bash tests/text/make_sentencepiece_reference.sh
set -euo pipefail
out=tests/text/reference/sentencepiece
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Training text: the start of the King James text and a few lines in other scripts.
bible "gen1:1-gen11:32" > "$tmp/corpus.txt"
cat >> "$tmp/corpus.txt" <<'TEXT'
Привет, мир! Как дела? Это небольшой текст на русском языке.
Γειά σου Κόσμε! Αυτό είναι ένα μικρό κείμενο.
こんにちは世界。これは小さなテキストです。
def main(): return 42  # code with numbers 12345 and symbols {}[]()<>
TEXT

# Input: varied lines, including characters the models have never seen.
cat > "$out/input.txt" <<'TEXT'
In the beginning God created the heaven and the earth.
And God said, Let there be light: and there was light.
  Leading and trailing spaces, and   repeated   spaces.  
Full-width ＡＢＣ１２３ and ligatures ﬁ ﬂ and ① ² ½ …
Привет, мир! Γειά σου Κόσμε! こんにちは世界。
Unseen: 😀 👍🏽 中文字 한국어 עברית ∑∫√ ☃
tabs	and	more	tabs
x

<sep> user <sep>defined<sep> symbols
öö üü ÖÜ é e\u0301 ñ
a
TEXT
# Lines that a heredoc cannot spell: combining marks, Hangul jamo, presentation forms, zero-width and
# control characters, unusual spaces, and an invalid UTF-8 byte (spm replaces it with U+FFFD).
printf 'e\xcc\x81 A\xcc\x8a n\xcc\x83o \xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab \xef\xbb\xb7 \xef\xbc\xa8\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd\x8f\n' >> "$out/input.txt"
printf 'zero\xe2\x80\x8bwidth soft\xc2\xadhyphen ctrl\x01\x02char nbsp\xc2\xa0here ideo\xe3\x80\x80space em\xe2\x80\x83space\n' >> "$out/input.txt"
printf 'bad \xff byte and \xc3 truncated\n' >> "$out/input.txt"
printf '\xe2\x80\xa8line sep \xef\xbc\x81\xef\xbc\x9f \xe3\x8d\xbf \xe2\x84\xa1 \xe2\x85\xa8 \xc2\xbc\n' >> "$out/input.txt"

common=(--input="$tmp/corpus.txt" --vocab_size=400 --minloglevel=2 --num_threads=1 --seed_sentencepiece_size=20000)
spm_train "${common[@]}" --model_prefix="$out/bpe_nfkc_bytes" --model_type=bpe --byte_fallback=true \
  --user_defined_symbols='<sep>' >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/unigram_identity" --model_type=unigram \
  --normalization_rule_name=identity --user_defined_symbols='<sep>' >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/bpe_identity_raw_spaces" --model_type=bpe \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=false >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/unigram_identity_bytes" --model_type=unigram \
  --normalization_rule_name=identity --byte_fallback=true >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/char_identity" --model_type=char --vocab_size=70 \
  --normalization_rule_name=identity >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/word_identity" --model_type=word --vocab_size=600 \
  --normalization_rule_name=identity >/dev/null 2>&1
spm_train "${common[@]}" --model_prefix="$out/unigram_identity_suffix" --model_type=unigram \
  --normalization_rule_name=identity --treat_whitespace_as_suffix=true --byte_fallback=true >/dev/null 2>&1
rm -f "$out"/*.vocab
for model in "$out"/*.model; do
  name=$(basename "$model" .model)
  spm_encode --model="$model" --output_format=id < "$out/input.txt" > "$out/$name.ids"
  spm_decode --model="$model" --input_format=id < "$out/$name.ids" > "$out/$name.decoded"
  # Random id sequences (any piece type in any position) and what spm_decode makes of them.
  size=$(spm_export_vocab --model="$model" | wc -l)
  /usr/bin/python3 -c "
import random
random.seed(5)
for i in range(200):
    print(' '.join(str(random.randrange($size)) for _ in range(random.randrange(0, 12))))" > "$out/$name.random_ids"
  spm_decode --model="$model" --input_format=id < "$out/$name.random_ids" > "$out/$name.random_decoded"
done
ls -la "$out"

# The whole King James text, line by line: count and FNV-1a hash of the ids (a line end hashes as
# 0xFFFFFFFF), so the committed reference stays small.
bible "gen1:1-rev22:21" > "$tmp/kjv.txt"
for model in "$out"/*.model; do
  name=$(basename "$model" .model)
  spm_encode --model="$model" --output_format=id < "$tmp/kjv.txt" | /usr/bin/python3 -c '
import sys
h, count = 2166136261, 0
for line in sys.stdin:
    for word in line.split():
        h = ((h ^ int(word)) * 16777619) & 0xFFFFFFFF
        count += 1
    h = ((h ^ 0xFFFFFFFF) * 16777619) & 0xFFFFFFFF
print(count, h)' > "$out/$name.kjv"
done
