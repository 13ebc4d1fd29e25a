#!/usr/bin/env bash
# README "## Contrastive and metric learning": CLIP vs SigLIP across batch sizes at a fixed budget of images
# seen (rotor clip train, default model, lr 1e-3, seed 1, one thread, each run under the shared build lock).
# Usage: scripts/clip_table.sh ROTOR [IMAGES] [OUTDIR]   (IMAGES: images seen per run, default 122880)
set -euo pipefail
rotor=${1:-build/bin/rotor}
images=${2:-122880}
out=${3:-$(mktemp -d)}
mkdir -p "$out"
echo "| loss | batch | steps | zero-shot acc | i2t R@1 | i2t R@5 | t2i R@1 | t2i R@5 | i2t pair R@1 | t2i pair R@5 | final scale | final bias | train s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for loss in clip siglip; do
  for batch in 16 64 256 512; do
    steps=$((images / batch))
    run="$out/$loss-$batch"
    rm -rf "$run"
    flock /tmp/rotor-heavy.lock "$rotor" clip train --loss "$loss" --batch "$batch" --steps "$steps" --threads 1 \
      --out "$run" >/dev/null 2>&1
    /usr/bin/python3 - "$run" "$loss" "$batch" "$steps" <<'PY'
import csv, json, sys
run, loss, batch, steps = sys.argv[1:]
m = json.load(open(f"{run}/metrics.json"))
last = list(csv.DictReader(open(f"{run}/metrics.csv")))[-1]
bias = "-" if not last["bias"] else "%.2f" % float(last["bias"])
print(f"| {loss} | {batch} | {steps} | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.1f | {bias} | %.0f |" % (
    m["zero_shot_accuracy"], m["i2t_recall@1"], m["i2t_recall@5"], m["t2i_recall@1"], m["t2i_recall@5"],
    m["i2t_pair_recall@1"], m["t2i_pair_recall@5"], float(last["scale"]), m["train_seconds"]))
PY
  done
done
