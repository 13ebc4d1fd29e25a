#!/usr/bin/env bash
# The main job: train a byte-level RoPE transformer on the King James Bible for a couple of minutes,
# then sample from it. The run lands in runs/kjv-rope/.
set -euo pipefail
rotor=${1:-build/bin/rotor}
"$rotor" train --out runs/kjv-rope
"$rotor" sample --model runs/kjv-rope --prompt "In the beginning" --tokens 200 --seed 1
