#!/usr/bin/env python3
"""Compares two JSON files: the same structure, equal strings, and numbers equal up to float rounding
(|a - b| <= atol + rtol * max(|a|, |b|)). Prints the first difference with its path and exits 1."""
import json
import math
import sys


def close(a, b, rtol, atol, path):
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return f"{path}: keys differ: {sorted(set(a) ^ set(b))}"
        for k in a:
            d = close(a[k], b[k], rtol, atol, f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = close(x, y, rtol, atol, f"{path}[{i}]")
            if d:
                return d
        return None
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return None
        if abs(a - b) <= atol + rtol * max(abs(a), abs(b)):
            return None
        return f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: {a!r} vs {b!r}"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: json_close.py A.json B.json [rtol] [atol]")
    rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    atol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-6
    with open(sys.argv[1]) as fa, open(sys.argv[2]) as fb:
        d = close(json.load(fa), json.load(fb), rtol, atol, "$")
    if d:
        print(f"json_close: {sys.argv[1]} vs {sys.argv[2]}: {d}")
        sys.exit(1)


if __name__ == "__main__":
    main()
