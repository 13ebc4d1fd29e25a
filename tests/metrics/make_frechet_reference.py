#!/usr/bin/python3
"""Writes tests/metrics/data/frechet_reference.json: Frechet distances computed the way pytorch-fid does
(numpy.cov, scipy.linalg.sqrtm of S1 S2, real part of its trace) for feature sets that
tests/metrics/frechet_test.cpp regenerates from the same formula (so no features are stored).

Run with Debian's interpreter: /usr/bin/python3 tests/metrics/make_frechet_reference.py
"""
import json
import math
import os

import numpy as np
import scipy.linalg


def features(n, dim, phase, spread):
    """Row r, column i: a deterministic, correlated, non-Gaussian pattern (float32, as the CNN's features)."""
    x = np.empty((n, dim), dtype=np.float64)
    for r in range(n):
        for i in range(dim):
            x[r, i] = (math.sin(0.37 * r * (i + 1) + 0.11 * i + phase)
                       + spread * math.cos(1.3 * r + 0.7 * i * i)
                       + 0.25 * math.sin(0.05 * r * r + i))
    return x.astype(np.float32).astype(np.float64)


def frechet(a, b):
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = scipy.linalg.sqrtm(s1.dot(s2), disp=False)
    root = root.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


CASES = [
    # name, n_a, n_b, dim, phase_b, spread_b
    ("small", 200, 150, 8, 0.3, 0.8),
    ("wide", 400, 300, 64, 1.1, 0.5),
    ("cnn_sized", 600, 500, 128, 0.7, 1.2),
    ("same_distribution", 300, 300, 16, 0.0, 0.5),
]


def main():
    out = []
    for name, n_a, n_b, dim, phase, spread in CASES:
        a = features(n_a, dim, 0.0, 0.5)
        b = features(n_b, dim, phase, spread)
        out.append({"name": name, "n_a": n_a, "n_b": n_b, "dim": dim, "phase_b": phase, "spread_b": spread,
                    "frechet": frechet(a, b)})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "frechet_reference.json")
    with open(path, "w") as f:
        json.dump({"generator": "tests/metrics/make_frechet_reference.py", "cases": out}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
