#!/usr/bin/env bash
# rotor map --metric coco vs the pycocotools-equivalent reference (tests/metrics/map_reference.py; Debian 12 has
# no python3-pycocotools) on 5,000 generated images and 100,000 detections. The peer's time is its
# evaluate()+accumulate() (+summarize); rotor's is the whole command, JSON parsing included.
set -euo pipefail
rotor=${1:-build/bin/rotor}
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
here=$(cd "$(dirname "$0")/.." && pwd)
/usr/bin/python3 - "$dir" "$here" <<'PY'
import json, random, sys, time
sys.path.insert(0, sys.argv[2] + "/tests/metrics")
import map_reference as ref
rng = random.Random(1)
images = [{"id": i} for i in range(1, 5001)]
cats = [{"id": c, "name": "c%d" % c} for c in range(1, 21)]
anns, res = [], []
for im in images:
    for _ in range(4):
        w, h = rng.uniform(8, 200), rng.uniform(8, 200)
        anns.append({"id": len(anns) + 1, "image_id": im["id"], "category_id": rng.randint(1, 20),
                     "bbox": [rng.uniform(0, 400), rng.uniform(0, 400), w, h], "area": w * h, "iscrowd": int(rng.random() < 0.05)})
for a in anns:
    for _ in range(3):
        x, y, w, h = a["bbox"]
        res.append({"image_id": a["image_id"], "category_id": a["category_id"], "score": round(rng.random(), 3),
                    "bbox": [x + rng.uniform(-0.2, 0.2) * w, y + rng.uniform(-0.2, 0.2) * h, w * rng.uniform(0.8, 1.2), h * rng.uniform(0.8, 1.2)]})
while len(res) < 100000:
    res.append({"image_id": rng.randint(1, 5000), "category_id": rng.randint(1, 20), "score": round(rng.random(), 3),
                "bbox": [rng.uniform(0, 400), rng.uniform(0, 400), rng.uniform(8, 200), rng.uniform(8, 200)]})
gt = {"images": images, "categories": cats, "annotations": anns}
json.dump(gt, open(sys.argv[1] + "/gt.json", "w")); json.dump(res, open(sys.argv[1] + "/dt.json", "w"))
t = time.time(); e = ref.CocoEval(gt, res); e.evaluate(); e.accumulate(); s = e.summarize(); t = time.time() - t
json.dump(s, open(sys.argv[1] + "/peer.json", "w"))
print("peer (reference COCOeval, evaluate+accumulate+summarize): %.2f s, AP %.6f" % (t, s[0]))
PY
for threads in 1 2; do
  start=$(date +%s.%N)
  "$rotor" map --gt "$dir/gt.json" --dt "$dir/dt.json" --metric coco --threads $threads --json "$dir/rotor.json" >/dev/null
  end=$(date +%s.%N)
  echo "rotor --threads $threads (whole command): $(echo "$end - $start" | bc) s"
done
/usr/bin/python3 -c "
import json,sys; a=json.load(open('$dir/peer.json')); b=json.load(open('$dir/rotor.json'))['stats']
print('max |stat difference|:', max(abs(x-y) for x,y in zip(a,b)))"
