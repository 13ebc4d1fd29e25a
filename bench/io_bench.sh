#!/usr/bin/env bash
# safetensors save/load throughput of rotor vs PyTorch's torch.save/torch.load on the same 128 MB model.
#   bash bench/io_bench.sh [build-dir]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
rotor_json=$("$build/bin/safetensors_bench" --benchmark_format=json 2>/dev/null)
peer_json=$(/usr/bin/python3 "$here/safetensors_peer.py")
/usr/bin/python3 - "$rotor_json" "$peer_json" <<'PY'
import json, sys
rotor = {b["name"].split("/")[0]: b for b in json.loads(sys.argv[1])["benchmarks"]}
peer = json.loads(sys.argv[2])
mb = peer["bytes"] / 2**20
for op, name in (("save", "BM_SafetensorsSave"), ("load", "BM_SafetensorsLoad")):
    r = rotor[name]["real_time"] / 1e3  # ms -> s
    p = peer[op + "_s"]
    print(f"safetensors {op}: rotor {mb / r:7.0f} MB/s, torch.{op} {mb / p:7.0f} MB/s, ratio {p / r:.2f}x")
PY
