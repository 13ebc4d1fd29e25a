#!/usr/bin/python3
"""Reference RoPE inverse frequencies for tests/kernels/rope_frequencies_test.cpp.

Float64 PyTorch, written from the formulas of the context-extension schemes as Hugging Face
transformers defines them (default, linear, dynamic NTK, YaRN; partial rotary factor).
Run:  /usr/bin/python3 tests/kernels/make_rope_reference.py   (writes tests/kernels/data/rope_reference.json)
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # the same bits on every run


def rotary_dim(head_dim, partial):
    return int(head_dim * partial)


def base_frequencies(theta, dim):
    # pair i turns by pos * theta^(-2i/dim)
    exponents = torch.arange(0, dim, 2, dtype=torch.float64) / dim
    return torch.pow(torch.tensor(theta, dtype=torch.float64), -exponents)


def reference(case):
    dim = rotary_dim(case["head_dim"], case["partial_rotary_factor"])
    theta = case["theta"]
    kind = case["kind"]
    factor = case.get("factor", 1.0)
    attention = 1.0
    if kind == "none":
        inv = base_frequencies(theta, dim)
    elif kind == "linear":
        inv = base_frequencies(theta, dim) / factor
    elif kind == "dynamic":
        P = case["original_max_positions"]
        L = max(case["seq_len"], P)
        grown = theta * (factor * L / P - (factor - 1.0)) ** (dim / (dim - 2.0))
        inv = base_frequencies(grown, dim)
    elif kind == "yarn":
        P = case["original_max_positions"]
        fast, slow = case.get("beta_fast", 32.0), case.get("beta_slow", 1.0)

        # pair index at which the wavelength 2*pi/inv_freq fits `r` rotations into P positions:
        # P / (2 pi theta^(2i/dim)) = r  <=>  i = dim * ln(P / (2 pi r)) / (2 ln theta)
        def correction(r):
            return dim * math.log(P / (2.0 * math.pi * r)) / (2.0 * math.log(theta))

        lo, hi = correction(fast), correction(slow)
        if case.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        i = torch.arange(dim // 2, dtype=torch.float64)
        ramp = torch.clamp((i - lo) / (hi - lo), 0.0, 1.0)
        base = base_frequencies(theta, dim)
        inv = ramp * (base / factor) + (1.0 - ramp) * base
        given = case.get("attention_factor", 0.0)
        attention = given if given > 0 else (1.0 if factor <= 1 else 0.1 * math.log(factor) + 1.0)
    else:
        raise ValueError(kind)
    return inv.tolist(), attention


CASES = [
    dict(name="plain", head_dim=16, theta=10000.0, partial_rotary_factor=1.0, kind="none"),
    dict(name="plain_theta_500000", head_dim=128, theta=500000.0, partial_rotary_factor=1.0, kind="none"),
    dict(name="partial_quarter", head_dim=64, theta=10000.0, partial_rotary_factor=0.25, kind="none"),
    dict(name="partial_0.4", head_dim=80, theta=10000.0, partial_rotary_factor=0.4, kind="none"),
    dict(name="linear_4", head_dim=32, theta=10000.0, partial_rotary_factor=1.0, kind="linear", factor=4.0),
    dict(name="linear_partial", head_dim=32, theta=1000.0, partial_rotary_factor=0.5, kind="linear", factor=2.5),
    dict(name="dynamic_short", head_dim=32, theta=10000.0, partial_rotary_factor=1.0, kind="dynamic",
         factor=2.0, original_max_positions=64, seq_len=40),
    dict(name="dynamic_at_limit", head_dim=32, theta=10000.0, partial_rotary_factor=1.0, kind="dynamic",
         factor=2.0, original_max_positions=64, seq_len=64),
    dict(name="dynamic_long", head_dim=32, theta=10000.0, partial_rotary_factor=1.0, kind="dynamic",
         factor=2.0, original_max_positions=64, seq_len=200),
    dict(name="dynamic_partial_long", head_dim=48, theta=50000.0, partial_rotary_factor=0.5, kind="dynamic",
         factor=3.0, original_max_positions=16, seq_len=37),
    dict(name="yarn_default", head_dim=64, theta=10000.0, partial_rotary_factor=1.0, kind="yarn",
         factor=4.0, original_max_positions=4096),
    dict(name="yarn_small_context", head_dim=32, theta=10000.0, partial_rotary_factor=1.0, kind="yarn",
         factor=8.0, original_max_positions=64),
    dict(name="yarn_betas_attention", head_dim=128, theta=1000000.0, partial_rotary_factor=1.0, kind="yarn",
         factor=16.0, original_max_positions=32768, beta_fast=16.0, beta_slow=2.0, attention_factor=1.25),
    dict(name="yarn_untruncated", head_dim=64, theta=10000.0, partial_rotary_factor=1.0, kind="yarn",
         factor=4.0, original_max_positions=2048, truncate=False),
    dict(name="yarn_partial", head_dim=64, theta=10000.0, partial_rotary_factor=0.5, kind="yarn",
         factor=2.0, original_max_positions=512),
    dict(name="yarn_factor_one", head_dim=16, theta=10000.0, partial_rotary_factor=1.0, kind="yarn",
         factor=1.0, original_max_positions=128),
]


def main():
    out = []
    for case in CASES:
        inv, attention = reference(case)
        out.append(dict(case, inv_freq=inv, attention_factor_expected=attention))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "rope_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
