"""Independent reference implementations of detection mAP, written for rotor's tests and bench.

Debian 12 has no python3-pycocotools, so `coco_eval` re-implements pycocotools' COCOeval for boxes
(evaluate / accumulate / summarize, the default Params) step by step in Python + numpy, with the same
per-image loops, so that it is also a fair speed peer:
  * detections: ids 1..N in results order, area = w*h (COCO.loadRes); ground truth: area from the
    'area' field, ignore = iscrowd (the 'ignore' field is overwritten, as _prepare does);
  * per (image, category): detections stably sorted by descending score (mergesort) and cut to 100,
    box IoU as maskApi.c's bbIou (crowd: intersection over the detection's area);
  * evaluateImg: gt sorted with ignored last (stable), greedy matching per IoU threshold with the
    1 - 1e-10 cap, crowd regions matched many times, the "stop at the first ignored gt once matched to
    a regular one" rule, unmatched detections outside the area range ignored; a detection matched to a
    ground truth whose id is 0 counts as unmatched (pycocotools stores the gt id and tests it for != 0);
  * accumulate: images in ascending id order, each image's first maxDet detections, one stable sort by
    descending score, precision envelope, np.searchsorted(..., 'left') at 101 recall points, -1 where a
    category has no (non-ignored) ground truth;
  * summarize: the 12 numbers, means over entries > -1.
`voc_eval` is py-faster-rcnn's voc_eval/voc_ap (ovthresh, use_07_metric, +1 pixel IoU, difficult
objects neither TP nor FP, first argmax gt), with one stated difference: detections are sorted with a
stable sort (voc_eval's np.argsort(-confidence) is numpy's quicksort, whose order among equal scores
is an implementation detail); classes without non-difficult objects get no AP (voc_eval divides by 0).
"""
import numpy as np

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
AREA_LBL = ["all", "small", "medium", "large"]


def box_iou(dets, gts, crowd):
    """[D, G] IoU of xywh boxes; a crowd gt divides by the detection's area only."""
    if len(dets) == 0 or len(gts) == 0:
        return []
    d = np.asarray(dets, dtype=np.float64).reshape(-1, 4)
    g = np.asarray(gts, dtype=np.float64).reshape(-1, 4)
    da = (d[:, 2] * d[:, 3])[:, None]
    ga = (g[:, 2] * g[:, 3])[None, :]
    w = np.minimum(d[:, 2:3] + d[:, 0:1], (g[:, 2] + g[:, 0])[None, :]) - np.maximum(d[:, 0:1], g[None, :, 0])
    h = np.minimum(d[:, 3:4] + d[:, 1:2], (g[:, 3] + g[:, 1])[None, :]) - np.maximum(d[:, 1:2], g[None, :, 1])
    inter = w * h
    union = np.where(np.asarray(crowd, dtype=bool)[None, :], da, da + ga - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w <= 0) | (h <= 0), 0.0, iou)


class CocoEval:
    def __init__(self, gt, results):
        self.img_ids = sorted(set(im["id"] for im in gt["images"]))
        self.cat_ids = sorted(set(c["id"] for c in gt["categories"]))
        self.gts, self.dts = {}, {}
        for ann in gt["annotations"]:
            g = dict(ann)
            g["ignore"] = bool(g.get("iscrowd", 0))
            g["iscrowd"] = int(g.get("iscrowd", 0))
            self.gts.setdefault((g["image_id"], g["category_id"]), []).append(g)
        for n, r in enumerate(results):
            d = dict(r)
            d["id"] = n + 1
            d["area"] = d["bbox"][2] * d["bbox"][3]
            self.dts.setdefault((d["image_id"], d["category_id"]), []).append(d)

    def compute_iou(self, img, cat):
        gt = self.gts.get((img, cat), [])
        dt = self.dts.get((img, cat), [])
        if not gt and not dt:
            return []
        order = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in order][: MAX_DETS[-1]]
        return box_iou([d["bbox"] for d in dt], [g["bbox"] for g in gt], [g["iscrowd"] for g in gt])

    def evaluate_img(self, img, cat, rng, max_det):
        gt = self.gts.get((img, cat), [])
        dt = self.dts.get((img, cat), [])
        if not gt and not dt:
            return None
        ign = [1 if (g["ignore"] or g["area"] < rng[0] or g["area"] > rng[1]) else 0 for g in gt]
        gorder = np.argsort(ign, kind="mergesort")
        gt = [gt[i] for i in gorder]
        gt_ig = np.array([ign[i] for i in gorder])
        dorder = np.argsort([-d["score"] for d in dt], kind="mergesort")
        dt = [dt[i] for i in dorder[:max_det]]
        crowd = [g["iscrowd"] for g in gt]
        ious = self.ious[img, cat]
        if len(ious) > 0:
            ious = ious[:, gorder]
        T, G, D = len(IOU_THRS), len(gt), len(dt)
        gtm = np.zeros((T, G))
        dtm = np.zeros((T, D))
        dt_ig = np.zeros((T, D))
        if len(ious) > 0:
            for ti, t in enumerate(IOU_THRS):
                for di, d in enumerate(dt):
                    best = min(t, 1 - 1e-10)
                    m = -1
                    for gi in range(G):
                        if gtm[ti, gi] > 0 and not crowd[gi]:
                            continue
                        if m > -1 and gt_ig[m] == 0 and gt_ig[gi] == 1:
                            break
                        if ious[di, gi] < best:
                            continue
                        best = ious[di, gi]
                        m = gi
                    if m == -1:
                        continue
                    dt_ig[ti, di] = gt_ig[m]
                    dtm[ti, di] = gt[m]["id"]
                    gtm[ti, m] = d["id"]
        outside = np.array([d["area"] < rng[0] or d["area"] > rng[1] for d in dt]).reshape(1, D)
        dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(outside, T, 0)))
        return {"scores": np.array([d["score"] for d in dt], dtype=np.float64), "dtm": dtm, "dt_ig": dt_ig,
                "gt_ig": gt_ig}

    def evaluate(self):
        self.ious = {(i, c): self.compute_iou(i, c) for i in self.img_ids for c in self.cat_ids}
        self.eval_imgs = [self.evaluate_img(i, c, rng, MAX_DETS[-1])
                          for c in self.cat_ids for rng in AREA_RNG for i in self.img_ids]

    def accumulate(self):
        T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(self.cat_ids), len(AREA_RNG), len(MAX_DETS)
        precision = -np.ones((T, R, K, A, M))
        recall = -np.ones((T, K, A, M))
        I = len(self.img_ids)
        for k in range(K):
            for a in range(A):
                E = [e for e in self.eval_imgs[(k * A + a) * I:(k * A + a + 1) * I] if e is not None]
                if not E:
                    continue
                for m, max_det in enumerate(MAX_DETS):
                    scores = np.concatenate([e["scores"][:max_det] for e in E])
                    order = np.argsort(-scores, kind="mergesort")
                    dtm = np.concatenate([e["dtm"][:, :max_det] for e in E], axis=1)[:, order]
                    dt_ig = np.concatenate([e["dt_ig"][:, :max_det] for e in E], axis=1)[:, order]
                    npig = np.count_nonzero(np.concatenate([e["gt_ig"] for e in E]) == 0)
                    if npig == 0:
                        continue
                    tps = np.cumsum(np.logical_and(dtm, np.logical_not(dt_ig)), axis=1).astype(np.float64)
                    fps = np.cumsum(np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig)), axis=1).astype(np.float64)
                    for t in range(T):
                        tp, fp = tps[t], fps[t]
                        nd = len(tp)
                        rc = tp / npig
                        pr = (tp / (fp + tp + np.spacing(1))).tolist()
                        recall[t, k, a, m] = rc[-1] if nd else 0
                        for i in range(nd - 1, 0, -1):
                            if pr[i] > pr[i - 1]:
                                pr[i - 1] = pr[i]
                        q = np.zeros(R)
                        for ri, pi in enumerate(np.searchsorted(rc, REC_THRS, side="left")):
                            if pi >= nd:
                                break
                            q[ri] = pr[pi]
                        precision[t, :, k, a, m] = q
        self.precision, self.recall = precision, recall

    def summarize(self):
        def one(ap, iou=None, area="all", max_det=100):
            s = self.precision if ap else self.recall
            if iou is not None:
                s = s[np.where(iou == IOU_THRS)[0]]
            a, m = AREA_LBL.index(area), MAX_DETS.index(max_det)
            s = s[:, :, :, a, m] if ap else s[:, :, a, m]
            return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))
        return [one(1), one(1, 0.5), one(1, 0.75), one(1, area="small"), one(1, area="medium"),
                one(1, area="large"), one(0, max_det=1), one(0, max_det=10), one(0), one(0, area="small"),
                one(0, area="medium"), one(0, area="large")]


def coco_stats(gt, results):
    e = CocoEval(gt, results)
    e.evaluate()
    e.accumulate()
    return e.summarize()


def voc_ap(rec, prec, use_07_metric):
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return float(ap)
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def voc_eval(objects, dets, classname, ovthresh, use_07_metric):
    """objects: {image: [(name, difficult, [x1, y1, x2, y2])]}; dets: [(image, score, [x1, y1, x2, y2])]
    for this class, in file order. Returns AP, or None when the class has no non-difficult object."""
    recs, npos = {}, 0
    for img, objs in objects.items():
        R = [o for o in objs if o[0] == classname]
        difficult = np.array([o[1] for o in R], dtype=bool)
        npos += int(np.sum(~difficult))
        recs[img] = {"bbox": np.array([o[2] for o in R], dtype=np.float64).reshape(-1, 4),
                     "difficult": difficult, "det": [False] * len(R)}
    if npos == 0:
        return None
    conf = np.array([d[1] for d in dets], dtype=np.float64)
    order = np.argsort(-conf, kind="stable")
    nd = len(dets)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for n, j in enumerate(order):
        img, _, bb = dets[j]
        bb = np.array(bb, dtype=np.float64)
        R = recs[img]
        ovmax = -np.inf
        G = R["bbox"]
        if G.size > 0:
            iw = np.maximum(np.minimum(G[:, 2], bb[2]) - np.maximum(G[:, 0], bb[0]) + 1.0, 0.0)
            ih = np.maximum(np.minimum(G[:, 3], bb[3]) - np.maximum(G[:, 1], bb[1]) + 1.0, 0.0)
            inters = iw * ih
            uni = ((bb[2] - bb[0] + 1.0) * (bb[3] - bb[1] + 1.0) +
                   (G[:, 2] - G[:, 0] + 1.0) * (G[:, 3] - G[:, 1] + 1.0) - inters)
            ov = inters / uni
            ovmax, jmax = np.max(ov), np.argmax(ov)
        if ovmax > ovthresh:
            if not R["difficult"][jmax]:
                if not R["det"][jmax]:
                    tp[n] = 1.0
                    R["det"][jmax] = True
                else:
                    fp[n] = 1.0
        else:
            fp[n] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec, use_07_metric)
