#!/usr/bin/python3
"""Compares rotor with its peer over seeds, for the bench/*_seeds.sh scripts.

    seed_compare.py ROWS LABEL COLUMN:NAME [COLUMN:NAME ...]

ROWS holds lines "rotor|peer seed S v0 v1 ..." (whitespace-separated); each COLUMN:NAME is one figure, the
0-based field index of its value. Prints per figure and side the mean and sample sd, then the difference of
the means and its ratio to the standard error of that difference, sqrt(sd_r^2 / n_r + sd_p^2 / n_p);
|ratio| < 2 is reported as "within noise".
"""
import math
import statistics as st
import sys


def compare(rows, label, column):
    side = {s: [float(r[column]) for r in rows if r[0] == s] for s in ("rotor", "peer")}
    for s, v in side.items():
        sd = st.stdev(v) if len(v) > 1 else float("nan")
        print(f"{label} {s:5s} n {len(v)} mean {st.mean(v):.6g} sd {sd:.3g}")
    diff = st.mean(side["rotor"]) - st.mean(side["peer"])
    if min(len(v) for v in side.values()) > 1:
        se = math.sqrt(sum(st.variance(v) / len(v) for v in side.values()))
        ratio = diff / se if se > 0 else float("inf")
        verdict = "within noise" if abs(ratio) < 2 else "NOT within noise"
        print(f"{label} difference rotor - peer {diff:.4g}, standard error {se:.3g}, ratio {ratio:.2f}: {verdict}")
    else:
        print(f"{label} difference rotor - peer {diff:.4g} (one seed: no noise estimate)")


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: seed_compare.py ROWS LABEL COLUMN:NAME [COLUMN:NAME ...]")
    rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
    for figure in sys.argv[3:]:
        column, name = figure.split(":", 1)
        compare(rows, f"{sys.argv[2]} {name}", int(column))


if __name__ == "__main__":
    main()
