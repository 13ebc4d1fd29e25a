#!/usr/bin/python3
"""Reference values for rotor's relative position biases (rotor/nn/relative_positions.h), computed by
PyTorch from the papers' definitions. Run with Debian's python3 from the repository root:

    /usr/bin/python3 tests/nn/make_position_reference.py   # (re)writes tests/nn/data/positions_*.safetensors

T5 (Raffel et al. 2020): the relative distance key - query is bucketed (half the buckets exact, the rest
logarithmic up to max_distance; bidirectional: a separate half for keys after the query), a learned scalar
per (bucket, head) is added to the attention logits. ALiBi (Press et al. 2022): head h adds -m_h (i - j)
with geometric slopes m_h (for a head count that is not a power of two: the nearest lower power's slopes
followed by every other slope of twice that count).

positions_buckets.safetensors: bucket tables (as F64) for a causal and a bidirectional case; alibi slopes
for 4, 6 and 12 heads.
positions_attention_NAME.safetensors (NAME = t5, alibi): inputs q, k, v [B, H, T, D], the T5 table weight
[buckets, H] (t5), seed_out, out = softmax(q k^T / sqrt(D) + bias, causal) v, and the gradients of
sum(out * seed_out) with respect to q, k, v (and weight), all F64, from inputs drawn in f32.
"""
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_mixer_reference import write_safetensors  # noqa: E402  (struct + json writer)

DATA = os.path.join(HERE, "data")


def t5_buckets(tq, tk, offset, bidirectional, buckets, max_distance):
    """[tq, tk] long: bucket of key j for query offset + i, computed elementwise in torch."""
    query = torch.arange(tq, dtype=torch.long)[:, None] + offset
    key = torch.arange(tk, dtype=torch.long)[None, :]
    rel = key - query
    out = torch.zeros_like(rel)
    if bidirectional:
        buckets //= 2
        out = out + (rel > 0).long() * buckets
        n = rel.abs()
    else:
        n = torch.clamp(-rel, min=0)
    exact = buckets // 2
    large = exact + (torch.log(n.double().clamp(min=1) / exact) / math.log(max_distance / exact)
                     * (buckets - exact)).long()
    large = torch.clamp(large, max=buckets - 1)
    return out + torch.where(n < exact, n, large)


def alibi_slopes(heads):
    def geometric(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    m = 2 ** int(math.floor(math.log2(heads)))
    return torch.tensor(geometric(m) + geometric(2 * m)[0::2][: heads - m], dtype=torch.float64)


def alibi_bias(heads, T):
    i = torch.arange(T, dtype=torch.float64)[:, None]
    j = torch.arange(T, dtype=torch.float64)[None, :]
    return -alibi_slopes(heads)[:, None, None] * (i - j)[None]


def attention(q, k, v, bias):
    T, D = q.shape[2], q.shape[3]
    scores = q @ k.transpose(-1, -2) / math.sqrt(D) + bias
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v


def attention_case(name, B=2, H=3, T=10, D=4, buckets=8, max_distance=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    draw = lambda *s: torch.randn(*s, generator=g, dtype=torch.float32).double().requires_grad_()  # noqa: E731
    q, k, v = draw(B, H, T, D), draw(B, H, T, D), draw(B, H, T, D)
    seed_out = torch.randn(B, H, T, D, generator=g, dtype=torch.float32).double()
    ref = {"q": q, "k": k, "v": v, "seed_out": seed_out}
    inputs = [q, k, v]
    if name == "t5":
        weight = draw(buckets, H)
        ref["weight"] = weight
        inputs.append(weight)
        bias = weight[t5_buckets(T, T, 0, False, buckets, max_distance)].permute(2, 0, 1)
    else:
        bias = alibi_bias(H, T)
    out = attention(q, k, v, bias)
    grads = torch.autograd.grad((out * seed_out).sum(), inputs)
    ref["out"] = out
    for key, gr in zip(["q", "k", "v", "weight"], grads):
        ref["grad." + key] = gr
    write_safetensors(os.path.join(DATA, f"positions_attention_{name}.safetensors"),
                      {key: t.detach().double() for key, t in ref.items()})


def main():
    os.makedirs(DATA, exist_ok=True)
    tables = {
        "causal_32_128": t5_buckets(7, 300, 290, False, 32, 128),       # queries 290..296, keys 0..299
        "bidirectional_32_128": t5_buckets(5, 300, 150, True, 32, 128),
        "causal_8_12": t5_buckets(20, 20, 0, False, 8, 12),
    }
    ref = {name: t.double() for name, t in tables.items()}
    for h in (4, 6, 12):
        ref[f"alibi_slopes_{h}"] = alibi_slopes(h)
    write_safetensors(os.path.join(DATA, "positions_buckets.safetensors"), ref)
    attention_case("t5")
    attention_case("alibi", seed=1)


if __name__ == "__main__":
    main()
