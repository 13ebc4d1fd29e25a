#!/usr/bin/env bash
# rotor clip train / eval / caption: a tiny run writes every file with its figures in [0, 1], eval recomputes the
# same figures from the saved run, and bad options are one-line errors with a non-zero exit and no run written.
# The second half does the same for a BLIP run (--loss blip) and rotor clip caption.
set -euo pipefail
rotor=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # expect_error TEXT ARGS...
  local want=$1; shift
  set +e; err=$("$rotor" "$@" 2>&1 >/dev/null); code=$?; set -e
  [ $code -ne 0 ] || fail "accepted: $*"
  [[ "$err" == "rotor: error: "*"$want"* ]] || fail "unexpected error for $*: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "not one line: $err"
}
tiny='{"embed": 16, "image": {"channels1": 4, "channels2": 8, "hidden": 32}, "text_layers": 1, "text_dim": 32, "text_heads": 2}'
common=(--train-limit 512 --test-limit 300)
"$rotor" clip train --loss siglip --siglip-chunk 8 --batch 32 --steps 12 --log-every 5 --model-config "$tiny" \
  --out "$dir/run" "${common[@]}" >"$dir/train.txt" 2>/dev/null
for f in config.json model.safetensors tokenizer.tiktoken metrics.csv metrics.json loss.svg; do
  [ -s "$dir/run/$f" ] || fail "missing $f"
done
[ "$(head -1 "$dir/run/metrics.csv")" = "step,images_seen,train_loss,lr,scale,bias" ] || fail "csv header"
[ "$(wc -l <"$dir/run/metrics.csv")" -eq 4 ] || fail "csv rows: $(cat "$dir/run/metrics.csv")"  # steps 5, 10, 12
grep -q '^12,384,' "$dir/run/metrics.csv" || fail "last csv row"
python3 - "$dir/run/metrics.json" "$dir/run/config.json" <<'PY' || fail "metrics.json"
import json, sys
m = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
keys = ["zero_shot_accuracy"] + [f"{d}_{k}recall@{n}" for d in ("i2t", "t2i") for k in ("", "pair_") for n in (1, 5)]
for k in keys:
    assert 0 <= m[k] <= 1, (k, m.get(k))
assert m["test_images"] == 300 and m["steps"] == 12 and m["images_seen"] == 384, m
assert c["model"] == "clip" and c["loss"] == "siglip" and c["siglip_chunk"] == 8 and c["training"]["batch"] == 32, c
PY
"$rotor" clip eval --model "$dir/run" --test-limit 300 >"$dir/eval.txt"
for k in zero_shot_accuracy 'i2t_recall@1' 'i2t_recall@5' 't2i_recall@1' 't2i_recall@5'; do
  a=$(grep "^$k " "$dir/train.txt"); b=$(grep "^$k " "$dir/eval.txt")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "eval differs for $k: '$a' vs '$b'"
done
"$rotor" clip train --loss clip --batch 16 --steps 3 --model-config "$tiny" --out "$dir/clip" "${common[@]}" >/dev/null 2>&1
grep -q '"loss": "clip"' "$dir/clip/config.json" || fail "clip config"

mkdir "$dir/other"; touch "$dir/other/keep.txt"
expect_error "unknown loss 'infonce'" clip train --loss infonce --out "$dir/bad"
expect_error "--batch must be in 2..512" clip train --batch 1 --out "$dir/bad" "${common[@]}"
expect_error "--batch must be in 2..512" clip train --batch 1000 --out "$dir/bad" "${common[@]}"
expect_error "--steps" clip train --steps 0 --out "$dir/bad"
expect_error "siglip_chunk applies to the siglip loss only" clip train --loss clip --siglip-chunk 4 --out "$dir/bad"
expect_error "unknown" clip train --model-config '{"embeddings": 3}' --out "$dir/bad"
expect_error "set the loss with --loss" clip train --model-config '{"loss": "siglip"}' --out "$dir/bad"
expect_error "--model-config is not JSON" clip train --model-config '{' --out "$dir/bad"
expect_error "$dir/other" clip train --out "$dir/other" "${common[@]}"
expect_error "$dir/nowhere" clip train --data "$dir/nowhere" --out "$dir/bad"
expect_error "holds no rotor clip run" clip eval --model "$dir/other"
expect_error "is not a directory" clip eval --model "$dir/missing"
[ ! -e "$dir/bad" ] || fail "a run was written by a failing command"
[ -f "$dir/other/keep.txt" ] && [ "$(ls "$dir/other")" = "keep.txt" ] || fail "other directory touched"

# ------------------------------------------------------------------------------------------------ blip
blip_tiny='{"embed": 16, "image": {"channels1": 4, "channels2": 8, "hidden": 32}, "text_layers": 1, "text_dim": 16,
       "text_heads": 2, "fusion_layers": 1, "decoder_layers": 1}'
"$rotor" clip train --loss blip --batch 16 --steps 6 --log-every 4 --model-config "$blip_tiny" \
  --out "$dir/blip" --train-limit 256 --test-limit 60 >"$dir/blip_train.txt" 2>/dev/null
for f in config.json model.safetensors tokenizer.tiktoken metrics.csv metrics.json loss.svg; do
  [ -s "$dir/blip/$f" ] || fail "missing $f"
done
[ "$(head -1 "$dir/blip/metrics.csv")" = "step,images_seen,train_loss,itc_loss,itm_loss,lm_loss,hard_negatives,lr,scale,bias" ] \
  || fail "csv header: $(head -1 "$dir/blip/metrics.csv")"
[ "$(wc -l <"$dir/blip/metrics.csv")" -eq 3 ] || fail "csv rows: $(cat "$dir/blip/metrics.csv")"  # steps 4, 6
grep -q '^6,96,' "$dir/blip/metrics.csv" || fail "last csv row"
python3 - "$dir/blip/metrics.json" "$dir/blip/config.json" "$dir/blip/metrics.csv" <<'PY' || fail "metrics.json"
import csv, json, sys
m = json.load(open(sys.argv[1])); c = json.load(open(sys.argv[2]))
for k in ("zero_shot_accuracy", "itm_accuracy", "itm_positive_accuracy", "itm_negative_accuracy", "caption_class_rate"):
    assert 0 <= m[k] <= 1, (k, m.get(k))
assert abs(m["itm_accuracy"] - (m["itm_positive_accuracy"] + m["itm_negative_accuracy"]) / 2) < 1e-12, m
assert len(m["caption_samples"]) == 5 and all("caption" in s and "class" in s for s in m["caption_samples"]), m
assert m["test_images"] == 60 and m["steps"] == 6 and m["images_seen"] == 96, m
assert c["model"] == "blip" and c["fusion_layers"] == 1 and "loss" not in c and c["training"]["batch"] == 16, c
for row in csv.DictReader(open(sys.argv[3])):
    parts = float(row["itc_loss"]) + float(row["itm_loss"]) + float(row["lm_loss"])
    assert abs(float(row["train_loss"]) - parts) < 1e-4 * parts, row
    assert 0 < float(row["hard_negatives"]) <= 32, row
PY
"$rotor" clip eval --model "$dir/blip" --test-limit 60 >"$dir/blip_eval.txt"
for k in zero_shot_accuracy itm_accuracy caption_class_rate 'i2t_recall@1'; do
  a=$(grep "^$k " "$dir/blip_train.txt"); b=$(grep "^$k " "$dir/blip_eval.txt")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "eval differs for $k: '$a' vs '$b'"
done
"$rotor" clip caption --model "$dir/blip" --count 7 >"$dir/captions.txt"
[ "$(wc -l <"$dir/captions.txt")" -eq 8 ] || fail "caption lines: $(cat "$dir/captions.txt")"
[ "$(head -1 "$dir/captions.txt")" = "$(printf 'index\tclass\tcaption')" ] || fail "caption header"
"$rotor" clip caption --model "$dir/blip" --count 7 --out "$dir/captions.tsv" >"$dir/stdout.txt"
cmp -s "$dir/captions.txt" "$dir/captions.tsv" || fail "--out differs from stdout"
[ ! -s "$dir/stdout.txt" ] || fail "--out also printed"

expect_error "unknown loss 'blipp' (want clip, siglip or blip)" clip train --loss blipp --out "$dir/bad"
expect_error "is a clip run, not a blip run" clip caption --model "$dir/clip" --out "$dir/bad.tsv"
expect_error "holds no rotor clip run" clip caption --model "$dir" --out "$dir/bad.tsv"
expect_error "is not a directory" clip caption --model "$dir/missing" --out "$dir/bad.tsv"
expect_error "--count" clip caption --model "$dir/blip" --count 0 --out "$dir/bad.tsv"
expect_error "--siglip-chunk applies to the siglip loss only" clip train --loss blip --siglip-chunk 4 --out "$dir/bad"
expect_error "unknown" clip train --loss blip --model-config '{"fusion_depth": 1}' --out "$dir/bad"
expect_error "fusion_layers" clip train --loss blip --model-config '{"fusion_layers": 0}' --out "$dir/bad"
[ ! -e "$dir/bad" ] && [ ! -e "$dir/bad.tsv" ] || fail "a failing blip command wrote output"
echo ok
