#!/usr/bin/env bash
# The main job: train a byte-level RoPE transformer on the King James Bible for a couple of minutes,
# then sample from it. The run lands in runs/kjv-rope/.
set -euo pipefail
rotor=${1:-build/bin/rotor}
# OpenMP threads sleep instead of spinning while they wait: on a shared or busy machine spinning
# threads steal the cores the work needs (measured 10x slower under load); on an idle one it costs ~nothing.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
"$rotor" train --out runs/kjv-rope
"$rotor" sample --model runs/kjv-rope --prompt "In the beginning" --tokens 200 --seed 1
