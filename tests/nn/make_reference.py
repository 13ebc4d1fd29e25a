#!/usr/bin/python3
"""Reference outputs and gradients for rotor's nn modules and autograd ops, computed by PyTorch in
float64. Run with Debian's python3 (python3-torch) from the repository root:

    /usr/bin/python3 tests/nn/make_reference.py

It writes tests/nn/reference.json, which tests/nn/modules_test.cpp reads. For every case the checked
scalar is sum(output * seed) with a random seed tensor, so the gradients are d/d(param or input) of it.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)


def t2j(t):
    t = t.detach()
    # 13 significant digits keep the file small and are far below the 1e-10 tolerance of the tests.
    return {"shape": list(t.shape), "data": [float(f"{v:.13g}") for v in t.reshape(-1).tolist()]}


def ids2j(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


cases = {}


def record(name, params, inputs, fn, ids=None, extra=None):
    """params/inputs: dict name -> tensor (made leaves requiring grad). fn(params, inputs) -> output."""
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    inputs = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(params, inputs)
    seed = torch.randn(out.shape)
    (out * seed).sum().backward()
    grads = {k: t2j(v.grad) for k, v in list(params.items()) + list(inputs.items())}
    case = {
        "params": {k: t2j(v) for k, v in params.items()},
        "inputs": {k: t2j(v) for k, v in inputs.items()},
        "ids": {k: ids2j(v) for k, v in (ids or {}).items()},
        "output": t2j(out),
        "seed": t2j(seed),
        "grads": grads,
    }
    if extra:
        case.update(extra)
    cases[name] = case


def linear(x, w, b=None):
    return F.linear(x, w, b)


record("linear_bias", {"weight": torch.randn(5, 4), "bias": torch.randn(5)}, {"x": torch.randn(2, 3, 4)},
       lambda p, i: linear(i["x"], p["weight"], p["bias"]))
record("linear_nobias", {"weight": torch.randn(3, 4)}, {"x": torch.randn(3, 4)},
       lambda p, i: linear(i["x"], p["weight"]))

emb_ids = torch.tensor([[1, 6, 0, 1], [3, 3, 5, 2]])
record("embedding", {"weight": torch.randn(7, 3)}, {}, lambda p, i: F.embedding(emb_ids, p["weight"]),
       ids={"ids": emb_ids})

record("layer_norm", {"weight": torch.randn(6), "bias": torch.randn(6)}, {"x": torch.randn(2, 3, 6) * 2 + 0.5},
       lambda p, i: F.layer_norm(i["x"], (6,), p["weight"], p["bias"], eps=1e-5))


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


record("rms_norm", {"weight": torch.randn(6)}, {"x": torch.randn(4, 6)}, lambda p, i: rms_norm(i["x"], p["weight"], 1e-6))

record("mlp_gelu",
       {"fc1.weight": torch.randn(8, 4) * 0.5, "fc1.bias": torch.randn(8), "fc2.weight": torch.randn(4, 8) * 0.5,
        "fc2.bias": torch.randn(4)},
       {"x": torch.randn(2, 3, 4)},
       lambda p, i: linear(F.gelu(linear(i["x"], p["fc1.weight"], p["fc1.bias"])), p["fc2.weight"], p["fc2.bias"]))

for act_name, act in (("swiglu", F.silu), ("geglu", F.gelu)):
    record(act_name,
           {"gate.weight": torch.randn(6, 4) * 0.5, "up.weight": torch.randn(6, 4) * 0.5,
            "down.weight": torch.randn(4, 6) * 0.5},
           {"x": torch.randn(2, 3, 4)},
           lambda p, i, act=act: linear(act(linear(i["x"], p["gate.weight"])) * linear(i["x"], p["up.weight"]),
                                        p["down.weight"]))

for act_name, act in (("relu", F.relu), ("gelu", F.gelu), ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
                      ("silu", F.silu), ("tanh", torch.tanh), ("sigmoid", torch.sigmoid)):
    record("act_" + act_name, {}, {"x": torch.randn(3, 7) * 2}, lambda p, i, act=act: act(i["x"]))

ce_targets = torch.tensor([[2, 0, -100], [4, 1, 4]])
record("cross_entropy_smoothing", {}, {"x": torch.randn(2, 3, 5) * 2},
       lambda p, i: F.cross_entropy(i["x"].reshape(-1, 5), ce_targets.reshape(-1), ignore_index=-100,
                                    label_smoothing=0.1),
       ids={"targets": ce_targets})
record("cross_entropy_plain", {}, {"x": torch.randn(4, 6)},
       lambda p, i: F.cross_entropy(i["x"], torch.tensor([5, 0, 3, 3])), ids={"targets": torch.tensor([5, 0, 3, 3])})

record("softmax_axis1", {}, {"x": torch.randn(2, 3, 4)}, lambda p, i: torch.softmax(i["x"], 1))
record("log_softmax_last", {}, {"x": torch.randn(2, 3, 4)}, lambda p, i: torch.log_softmax(i["x"], -1))
record("logsumexp_0_2", {}, {"x": torch.randn(2, 3, 4)}, lambda p, i: torch.logsumexp(i["x"], (0, 2)))
record("mse_loss", {}, {"x": torch.randn(3, 4), "y": torch.randn(3, 4)}, lambda p, i: F.mse_loss(i["x"], i["y"]))


def attention(q, k, v, causal):
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        tq, tk = s.shape[-2], s.shape[-1]
        s = s.masked_fill(torch.ones(tq, tk, dtype=torch.bool).triu(1 + tk - tq), float("-inf"))
    return torch.softmax(s, -1) @ v


record("attention_causal", {}, {"q": torch.randn(2, 2, 5, 4), "k": torch.randn(2, 2, 5, 4), "v": torch.randn(2, 2, 5, 3)},
       lambda p, i: attention(i["q"], i["k"], i["v"], True))
record("attention_kv_cache", {}, {"q": torch.randn(1, 2, 2, 4), "k": torch.randn(1, 2, 6, 4), "v": torch.randn(1, 2, 6, 3)},
       lambda p, i: attention(i["q"], i["k"], i["v"], True))

record("conv2d", {"weight": torch.randn(4, 3, 3, 2), "bias": torch.randn(4)}, {"x": torch.randn(2, 3, 5, 4)},
       lambda p, i: F.conv2d(i["x"], p["weight"], p["bias"], stride=(2, 1), padding=(1, 2), dilation=(1, 2)))
record("conv1d", {"weight": torch.randn(2, 3, 3), "bias": torch.randn(2)}, {"x": torch.randn(2, 3, 7)},
       lambda p, i: F.conv1d(i["x"], p["weight"], p["bias"], stride=2, padding=1))
record("conv_transpose2d", {"weight": torch.randn(3, 2, 3, 3), "bias": torch.randn(2)}, {"x": torch.randn(2, 3, 3, 2)},
       lambda p, i: F.conv_transpose2d(i["x"], p["weight"], p["bias"], stride=2, padding=(1, 0), output_padding=(1, 0)))
record("max_pool2d", {}, {"x": torch.randn(2, 2, 4, 6)}, lambda p, i: F.max_pool2d(i["x"], 2))
record("avg_pool2d", {}, {"x": torch.randn(1, 2, 4, 4)}, lambda p, i: F.avg_pool2d(i["x"], (3, 2), stride=1))
record("upsample_nearest2d", {}, {"x": torch.randn(1, 2, 3, 2)},
       lambda p, i: F.interpolate(i["x"], scale_factor=(2, 3), mode="nearest"))


def mha(p, q_in, kv_in, heads, causal, pad):
    B, Tq, D = q_in.shape
    Tk = kv_in.shape[1]
    q, k, v = (linear(x, p[n + ".weight"], p[n + ".bias"]) for n, x in (("q", q_in), ("k", kv_in), ("v", kv_in)))
    split = lambda x, T: x.reshape(B, T, heads, D // heads).transpose(1, 2)
    q, k, v = split(q, Tq), split(k, Tk), split(v, Tk)
    s = q @ k.transpose(-1, -2) / math.sqrt(D // heads)
    if causal:
        s = s.masked_fill(torch.ones(Tq, Tk, dtype=torch.bool).triu(1 + Tk - Tq), float("-inf"))
    if pad is not None:
        s = s.masked_fill(pad[:, None, None, :], float("-inf"))
    o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, Tq, D)
    return linear(o, p["out.weight"], p["out.bias"])


mha_params = {f"{n}.{kind}": torch.randn(8, 8) * 0.4 if kind == "weight" else torch.randn(8) * 0.1
              for n in ("q", "k", "v", "out") for kind in ("weight", "bias")}
record("mha_self_causal", mha_params, {"x": torch.randn(2, 5, 8)},
       lambda p, i: mha(p, i["x"], i["x"], 2, True, None))
mha_pad = torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]], dtype=torch.bool)
record("mha_cross_padding", mha_params, {"q": torch.randn(2, 3, 8), "kv": torch.randn(2, 4, 8)},
       lambda p, i: mha(p, i["q"], i["kv"], 4, False, mha_pad), ids={"pad": mha_pad.long()})

record("act_leaky_relu", {}, {"x": torch.randn(3, 7) * 2}, lambda p, i: F.leaky_relu(i["x"], 0.2))
record("act_softplus", {}, {"x": torch.randn(3, 7) * 3}, lambda p, i: F.softplus(i["x"]))

bn = torch.nn.BatchNorm2d(3, momentum=0.1).double()
with torch.no_grad():
    bn.weight.uniform_(0.5, 1.5)
    bn.bias.uniform_(-0.5, 0.5)
bn_params = {"weight": bn.weight.detach().clone(), "bias": bn.bias.detach().clone()}
bn_x = torch.randn(4, 3, 2, 3) * 2 + 1
record("batch_norm_train", bn_params, {"x": bn_x},
       lambda p, i: F.batch_norm(i["x"], bn.running_mean, bn.running_var, p["weight"], p["bias"], training=True,
                                 momentum=0.1, eps=1e-5))
# record() ran the forward once: these running statistics are after one training step.
cases["batch_norm_train"]["running_mean"] = t2j(bn.running_mean)
cases["batch_norm_train"]["running_var"] = t2j(bn.running_var)
record("batch_norm_eval", bn_params, {"x": torch.randn(2, 3, 2, 2)},
       lambda p, i: F.batch_norm(i["x"], bn.running_mean, bn.running_var, p["weight"], p["bias"], training=False))

record("group_norm", {"weight": torch.rand(6) + 0.5, "bias": torch.randn(6) * 0.3}, {"x": torch.randn(2, 6, 3, 2) * 2},
       lambda p, i: F.group_norm(i["x"], 3, p["weight"], p["bias"], eps=1e-5))


# The convolution toolbox (issue 14): grouped convolution, PixelShuffle/Unshuffle, bilinear resampling,
# max-unpooling.
record("conv2d_groups", {"weight": torch.randn(6, 2, 3, 2), "bias": torch.randn(6)}, {"x": torch.randn(2, 4, 6, 5)},
       lambda p, i: F.conv2d(i["x"], p["weight"], p["bias"], stride=(1, 2), padding=(1, 1), dilation=(2, 1), groups=2))
record("pixel_shuffle", {}, {"x": torch.randn(2, 8, 2, 3)}, lambda p, i: F.pixel_shuffle(i["x"], 2))
record("pixel_unshuffle", {}, {"x": torch.randn(2, 2, 4, 6)}, lambda p, i: F.pixel_unshuffle(i["x"], 2))
for ac in (False, True):
    for size in ((7, 8), (3, 2)):
        record(f"bilinear_{'ac' if ac else 'hp'}_{size[0]}x{size[1]}", {}, {"x": torch.randn(2, 2, 5, 4)},
               lambda p, i, size=size, ac=ac: F.interpolate(i["x"], size=size, mode="bilinear", align_corners=ac))
record("max_unpool2d", {}, {"x": torch.randn(2, 3, 4, 6)},
       lambda p, i: F.max_unpool2d(*F.max_pool2d(i["x"], 2, return_indices=True), 2, output_size=(4, 6)))


def sinusoidal(T, d, base=10000.0):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    inv = torch.exp(-math.log(base) * torch.arange(0, d, 2, dtype=torch.float64) / d)[None, :]
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(pos * inv)
    pe[:, 1::2] = torch.cos(pos * inv)
    return pe


cases["sinusoidal_7x6"] = {"output": t2j(sinusoidal(7, 6))}

out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
with open(out_path, "w") as f:
    json.dump({"generator": "tests/nn/make_reference.py, torch " + torch.__version__, "cases": cases}, f)
print("wrote", out_path)
