#!/usr/bin/env bash
# word2vec speed and quality vs fastText 0.9.2 (Debian `fasttext`) on the King James Bible.
#
#   bash bench/w2v_bench.sh [build-dir | path/to/rotor] [threads...]   (default: build/bin/rotor, threads 1 2)
#
# Both tools train skip-gram with negative sampling on the same word file (lowercased, letters only, one
# verse per line) with the same settings: dim 100, window 5, 5 negatives, sample 1e-3, 5 epochs,
# min-count 5, lr 0.025 (fastText without subwords: -minn 0 -maxn 0). Printed per thread count:
#   - words/s/thread from the wall clock of the whole run (reading, training, writing), with the same
#     word count for both: corpus words x epochs / seconds / threads, and the CPU seconds (user + system);
#   - the ratios rotor / fastText (target >= 1.5); the CPU-time ratio is the steadier one when other
#     work shares the machine.
# then the analogy accuracy of both (one thread's vectors) on questions-words.txt, scored by the same
# evaluator (`rotor w2v analogy`, top 30000 words, case-insensitive), with the question coverage
# (the KJV vocabulary covers only a few percent of the questions). Target: rotor >= fastText.
set -euo pipefail
rotor=${1:-build/bin/rotor}
[ -d "$rotor" ] && rotor=$rotor/bin/rotor  # a build directory, as bench/run_all.sh passes
shift || true
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)
here=$(cd "$(dirname "$0")/.." && pwd)
questions=${ROTOR_QUESTIONS:-$here/../shared/data/questions-words.txt}
[ -f "$questions" ] || questions=/work/shared/data/questions-words.txt
command -v fasttext >/dev/null || { echo "w2v_bench: fasttext is not installed (apt-get install fasttext)"; exit 1; }
command -v bible >/dev/null || { echo "w2v_bench: bible is not installed (apt-get install bible-kjv)"; exit 1; }
[ -x "$rotor" ] || { echo "w2v_bench: $rotor is not built"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One verse per line (a continuation line does not start with "  N "), lowercase, letters only.
bible "gen1:1-rev22:21" | perl -0777 -pe 's/\n(?!\s+\d+ )/ /g' | tr 'A-Z' 'a-z' | tr -c 'a-z\n' ' ' \
  | tr -s ' ' | sed 's/^ //' | grep -v '^$' > "$work/words.txt"
words=$(wc -w < "$work/words.txt")
epochs=5
echo "corpus: KJV, $(wc -l < "$work/words.txt") lines, $words words; skip-gram, dim 100, window 5, negative 5, sample 1e-3, epochs $epochs, min-count 5"

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }  # floating-point arithmetic without bc
# timed FILE CMD...: runs CMD, appends "wall cpu" seconds (cpu = user + system) to FILE.
timed() {
  local file=$1 t
  shift
  t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ) || { echo "w2v_bench: failed: $*"; exit 1; }
  awk '{ printf "%s %s\n", $1, $2 + $3 }' <<<"$t" >> "$file"
}
best() { sort -n -k"$2" "$1" | head -n 1 | cut -d' ' -f"$2"; }  # smallest value of column $2
repeats=${W2V_BENCH_REPEATS:-2}
echo "each run repeated $repeats times, alternating the tools; the fastest run of each counts"

for t in "${threads[@]}"; do
  : > "$work/ft$t.times"
  : > "$work/rotor$t.times"
  for r in $(seq 1 "$repeats"); do
    timed "$work/ft$t.times" fasttext skipgram -input "$work/words.txt" -output "$work/ft$t" -dim 100 -ws 5 -neg 5 \
      -t 1e-3 -thread "$t" -epoch $epochs -minCount 5 -minn 0 -maxn 0 -lr 0.025
    timed "$work/rotor$t.times" "$rotor" w2v train --input "$work/words.txt" --out "$work/rotor$t.vec" --dim 100 \
      --window 5 --negative 5 --sample 1e-3 --epochs $epochs --min-count 5 --lr 0.025 --threads "$t" --seed 1
  done
  for tool in ft rotor; do
    wall=$(best "$work/$tool$t.times" 1)
    cpu=$(best "$work/$tool$t.times" 2)
    eval "${tool}_wall=$wall ${tool}_cpu=$cpu"
    eval "${tool}_rate=$(calc "$words * $epochs / $wall / $t")"
  done
  printf 'threads=%d fasttext: %6.1fs wall %6.1fs cpu  %8.0f words/s/thread\n' "$t" "$ft_wall" "$ft_cpu" "$ft_rate"
  printf 'threads=%d rotor:    %6.1fs wall %6.1fs cpu  %8.0f words/s/thread\n' "$t" "$rotor_wall" "$rotor_cpu" "$rotor_rate"
  printf 'threads=%d ratio rotor/fasttext: words/s/thread (wall) %.2fx, cpu time %.2fx (target >= 1.5x)\n' "$t" \
    "$(calc "$rotor_rate / $ft_rate")" "$(calc "$ft_cpu / $rotor_cpu")"
done

t=${threads[0]}
for tool in fasttext rotor; do
  vec=$work/ft$t.vec
  [ $tool = rotor ] && vec=$work/rotor$t.vec
  "$rotor" w2v analogy --vectors "$vec" --questions "$questions" > "$work/$tool.analogy"
  printf '%s analogy (threads=%d): %s, %s\n' $tool "$t" "$(grep '^accuracy=' "$work/$tool.analogy")" \
    "$(grep '^coverage=' "$work/$tool.analogy")"
done
ft_acc=$(grep -o '^accuracy=[0-9.]*' "$work/fasttext.analogy" | cut -d= -f2)
ro_acc=$(grep -o '^accuracy=[0-9.]*' "$work/rotor.analogy" | cut -d= -f2)
printf 'analogy accuracy rotor - fasttext: %+.2f points (target >= 0)\n' "$(calc "$ro_acc - $ft_acc")"
