#!/usr/bin/python3
"""Random detection-mAP cases with expected values from tests/metrics/map_reference.py.

    /usr/bin/python3 tests/metrics/make_map_reference.py     # (re)writes tests/metrics/data/map_*_cases.json

COCO cases: a ground-truth dataset (images, categories, annotations with 'area' that is not always
w*h, crowd regions, ids that may be 0) and a results list; expected: the 12 summary numbers. VOC cases:
objects per image (difficult flags, integer pixel boxes) and per-class detections; expected: per-class
AP for VOC2007 (11-point) and VOC2010+ (all-point) at IoU 0.5 and 0.7. Cases cover ties in score
(scores rounded to 1-2 decimals), images with no ground truth, categories with no detections or no
ground truth, images with more than 100 detections, and boxes whose areas sit on the COCO range edges.
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import map_reference as ref  # noqa: E402


def jitter(rng, box, amount):
    x, y, w, h = box
    return [round(x + rng.uniform(-amount, amount) * w, 1), round(y + rng.uniform(-amount, amount) * h, 1),
            round(max(0.0, w * rng.uniform(1 - amount, 1 + amount)), 1),
            round(max(0.0, h * rng.uniform(1 - amount, 1 + amount)), 1)]


def score(rng, decimals):
    return round(rng.random(), decimals) if decimals else rng.random()


def coco_case(rng, n):
    num_images = rng.randint(1, 10)
    num_cats = rng.randint(1, 5)
    image_ids = rng.sample(range(1, 1000), num_images)
    cat_ids = rng.sample(range(1, 100), num_cats)
    decimals = rng.choice([1, 2, None])
    edge_sides = [32, 96, 31, 97]  # areas 1024 and 9216 sit on both sides of a range bound
    gt_ids = rng.sample(range(0 if n % 3 == 0 else 1, 100000), 200)
    anns, results = [], []
    for img in image_ids:
        if rng.random() < 0.2:
            continue  # an image with no ground truth
        for _ in range(rng.randint(0, 7)):
            side = rng.choice(edge_sides) if rng.random() < 0.2 else None
            w = side if side else round(rng.uniform(4, 160), 1)
            h = side if side else round(rng.uniform(4, 160), 1)
            box = [round(rng.uniform(0, 300), 1), round(rng.uniform(0, 300), 1), w, h]
            area = w * h if rng.random() < 0.6 else round(w * h * rng.uniform(0.5, 1.0), 2)
            crowd = 1 if rng.random() < 0.1 else 0
            anns.append({"id": gt_ids[len(anns)], "image_id": img, "category_id": rng.choice(cat_ids),
                         "bbox": box, "area": area, "iscrowd": crowd})
    det_cats = [c for c in cat_ids if rng.random() < 0.85]  # some categories get no detections
    for a in anns:
        if a["category_id"] not in det_cats:
            continue
        for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
            results.append({"image_id": a["image_id"], "category_id": a["category_id"],
                            "bbox": jitter(rng, a["bbox"], rng.choice([0.05, 0.15, 0.3])), "score": score(rng, decimals)})
    for _ in range(rng.randint(0, 25)):
        if not det_cats:
            break
        box = [round(rng.uniform(0, 300), 1), round(rng.uniform(0, 300), 1), round(rng.uniform(2, 150), 1),
               round(rng.uniform(2, 150), 1)]
        results.append({"image_id": rng.choice(image_ids), "category_id": rng.choice(det_cats), "bbox": box,
                        "score": score(rng, decimals)})
    if n % 7 == 0 and det_cats:  # one image with more detections than maxDets = 100
        img, cat = rng.choice(image_ids), rng.choice(det_cats)
        base = [50.0, 50.0, 60.0, 40.0]
        anns.append({"id": 200000 + n, "image_id": img, "category_id": cat, "bbox": base, "area": 2400.0,
                     "iscrowd": 0})
        for _ in range(120):
            results.append({"image_id": img, "category_id": cat, "bbox": jitter(rng, base, 0.2),
                            "score": score(rng, decimals)})
    rng.shuffle(results)
    gt = {"images": [{"id": i, "file_name": "%d.jpg" % i} for i in image_ids],
          "categories": [{"id": c, "name": "class%d" % c} for c in cat_ids], "annotations": anns}
    return {"gt": gt, "results": results, "stats": ref.coco_stats(gt, results)}


def voc_case(rng, n):
    classes = rng.sample(["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "dog",
                          "pottedplant", "tvmonitor"], rng.randint(1, 5))
    images = ["%06d" % i for i in rng.sample(range(1, 10000), rng.randint(1, 10))]
    decimals = rng.choice([1, 2, None])
    objects = {}
    for img in images:
        objs = []
        for _ in range(0 if rng.random() < 0.2 else rng.randint(0, 6)):
            x1, y1 = rng.randint(0, 300), rng.randint(0, 300)
            x2, y2 = x1 + rng.randint(0, 150), y1 + rng.randint(0, 150)
            objs.append([rng.choice(classes), 1 if rng.random() < 0.15 else 0, [x1, y1, x2, y2]])
        objects[img] = objs
    dets = {c: [] for c in classes if rng.random() < 0.85}
    for img, objs in objects.items():
        for name, _, (x1, y1, x2, y2) in objs:
            if name not in dets:
                continue
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                a = rng.choice([0.05, 0.15, 0.3])
                w, h = x2 - x1 + 1, y2 - y1 + 1
                nx1 = round(x1 + rng.uniform(-a, a) * w, 1)
                ny1 = round(y1 + rng.uniform(-a, a) * h, 1)
                dets[name].append([img, score(rng, decimals),
                                   [nx1, ny1, round(max(nx1, x2 + rng.uniform(-a, a) * w), 1),
                                    round(max(ny1, y2 + rng.uniform(-a, a) * h), 1)]])
    for name in dets:
        for _ in range(rng.randint(0, 8)):
            x1, y1 = round(rng.uniform(0, 300), 1), round(rng.uniform(0, 300), 1)
            dets[name].append([rng.choice(images), score(rng, decimals),
                               [x1, y1, round(x1 + rng.uniform(0, 150), 1), round(y1 + rng.uniform(0, 150), 1)]])
        rng.shuffle(dets[name])
    expected = {}
    present = sorted(set(o[0] for objs in objects.values() for o in objs))
    for c in present:
        expected[c] = {"%s@%g" % (metric, iou): ref.voc_eval(objects, dets.get(c, []), c, iou, metric == "voc07")
                       for metric in ("voc07", "voc") for iou in (0.5, 0.7)}
    return {"objects": objects, "dets": dets, "ap": expected}


def main():
    rng = random.Random(15)
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    coco = [coco_case(rng, n) for n in range(60)]
    voc = [voc_case(rng, n) for n in range(60)]
    for name, cases in (("map_coco_cases.json", coco), ("map_voc_cases.json", voc)):
        with open(os.path.join(HERE, "data", name), "w") as f:
            json.dump(cases, f, separators=(",", ":"))
            f.write("\n")
    print("wrote %d COCO and %d VOC cases" % (len(coco), len(voc)))


if __name__ == "__main__":
    main()
