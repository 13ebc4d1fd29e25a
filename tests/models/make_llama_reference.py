#!/usr/bin/python3
"""Tiny random Hugging Face LLaMA checkpoints and their float64 logits, for tests/models/hf_llama_test.cpp.

Writes, under tests/models/data/llama/<case>/, a Hugging Face model directory (config.json and
model.safetensors, or model.safetensors.index.json with shards) and tests/models/data/llama/reference.json
with the token ids and the float64 logits [T, vocab] of each case.

Everything is written from the definitions, without the transformers package:
  - safetensors: 8-byte little-endian header length, JSON header, raw little-endian data;
  - the LLaMA forward: RMSNorm (x / sqrt(mean(x^2) + eps) * w), attention with grouped key/value heads
    (query head h reads key/value head h // (heads / kv_heads)), rotary embedding in the half-split layout
    (pairs (i, i + d/2) of the rotated channels), causal softmax(q k^T / sqrt(head_dim)) v, the SwiGLU MLP
    down(silu(gate(x)) * up(x)), pre-norm residual blocks, a final RMSNorm and the output head;
  - RoPE context scaling as Hugging Face defines it: linear (inv_freq / factor), dynamic NTK (the base
    grows once the sequence is longer than max_position_embeddings), YaRN (per-pair ramp between the
    original and interpolated frequencies, cos/sin multiplied by the attention factor);
  - partial_rotary_factor: the first int(head_dim * factor) channels of each head are rotated (half-split
    within them) and the rest pass through unchanged, as Hugging Face's partial-rotary models do.
Weights are drawn in float64, rounded to the stored dtype (F32, BF16 or F16), and the reference uses the
rounded values in float64.

Run:  /usr/bin/python3 tests/models/make_llama_reference.py
"""
import json
import math
import os
import shutil
import struct

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # the same bits on every run

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data", "llama")

STORAGE = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


# ----------------------------------------------------------------------------------------------
# safetensors writer


def tensor_bytes(t, dtype):
    t = t.to(STORAGE[dtype]).contiguous()
    if dtype == "BF16":
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "F16":
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        blob = tensor_bytes(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# ----------------------------------------------------------------------------------------------
# RoPE frequencies (float64)


def inverse_frequencies(cfg, seq_len):
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    dim = int(head_dim * cfg.get("partial_rotary_factor", 1.0))
    theta = cfg.get("rope_theta", 10000.0)
    scaling = cfg.get("rope_scaling") or {}
    if "rope_parameters" in cfg:  # transformers v5: theta travels with the scaling
        scaling = cfg["rope_parameters"]
        theta = scaling["rope_theta"]
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    max_pos = cfg["max_position_embeddings"]

    def plain(base):
        return base ** -(torch.arange(0, dim, 2, dtype=torch.float64) / dim)

    if kind == "default":
        return plain(theta), 1.0
    if "factor" in scaling:
        factor = scaling["factor"]
    else:  # YaRN given only the two context lengths
        factor = max_pos / scaling["original_max_position_embeddings"]
    if kind == "linear":
        return plain(theta) / factor, 1.0
    if kind == "dynamic":
        length = max(seq_len, max_pos)
        return plain(theta * (factor * length / max_pos - (factor - 1)) ** (dim / (dim - 2))), 1.0
    if kind == "yarn":
        original = scaling.get("original_max_position_embeddings", max_pos)
        fast, slow = scaling.get("beta_fast") or 32.0, scaling.get("beta_slow") or 1.0

        def pair_with_rotations(r):  # pair index whose wavelength fits r rotations into `original`
            return dim * math.log(original / (2 * math.pi * r)) / (2 * math.log(theta))

        lo, hi = pair_with_rotations(fast), pair_with_rotations(slow)
        if scaling.get("truncate", True):
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float64) - lo) / (hi - lo), 0, 1)
        base = plain(theta)
        def temperature(m):  # the paper's sqrt(1/t) = 0.1 m ln(s) + 1
            return 0.1 * m * math.log(factor) + 1.0 if factor > 1 else 1.0

        attention = scaling.get("attention_factor")
        if attention is None and scaling.get("mscale") and scaling.get("mscale_all_dim"):
            attention = temperature(scaling["mscale"]) / temperature(scaling["mscale_all_dim"])
        if attention is None:
            attention = temperature(1.0)
        return ramp * base / factor + (1 - ramp) * base, attention
    raise ValueError(kind)


# ----------------------------------------------------------------------------------------------
# LLaMA forward (float64)


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rotate(x, cos, sin):
    # x: [heads, T, head_dim]; cos/sin: [T, rotary_dim / 2]
    d = cos.shape[-1] * 2
    rot, rest = x[..., :d], x[..., d:]
    a, b = rot[..., : d // 2], rot[..., d // 2:]
    turned = torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)
    return torch.cat([turned, rest], dim=-1)


def llama_logits(cfg, w, ids):
    T = len(ids)
    H = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim") or H // nh
    eps = cfg["rms_norm_eps"]
    inv, attention_factor = inverse_frequencies(cfg, T)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = torch.cos(angle) * attention_factor, torch.sin(angle) * attention_factor
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)

    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, nh, hd).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, nkv, hd).transpose(0, 1)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        group = nh // nkv
        k, v = k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0)
        scores = (q @ k.transpose(1, 2)) / math.sqrt(hd)
        scores = scores.masked_fill(causal, float("-inf"))
        attn = torch.softmax(scores, dim=-1) @ v  # [nh, T, hd]
        x = x + attn.transpose(0, 1).reshape(T, nh * hd) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].T
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate * torch.sigmoid(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


# ----------------------------------------------------------------------------------------------
# random checkpoints


def random_weights(cfg, gen):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim") or H // nh

    def linear(out_f, in_f):
        return torch.randn(out_f, in_f, generator=gen) / math.sqrt(in_f)

    def norm(n):
        return 1.0 + 0.2 * torch.randn(n, generator=gen)

    w = {"model.embed_tokens.weight": torch.randn(V, H, generator=gen), "model.norm.weight": norm(H)}
    for n in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{n}."
        w[p + "input_layernorm.weight"] = norm(H)
        w[p + "post_attention_layernorm.weight"] = norm(H)
        w[p + "self_attn.q_proj.weight"] = linear(nh * hd, H)
        w[p + "self_attn.k_proj.weight"] = linear(nkv * hd, H)
        w[p + "self_attn.v_proj.weight"] = linear(nkv * hd, H)
        w[p + "self_attn.o_proj.weight"] = linear(H, nh * hd)
        w[p + "mlp.gate_proj.weight"] = linear(I, H)
        w[p + "mlp.up_proj.weight"] = linear(I, H)
        w[p + "mlp.down_proj.weight"] = linear(H, I)
    if not cfg.get("tie_word_embeddings"):
        w["lm_head.weight"] = linear(V, H)
    return w


def base_config(**overrides):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 32,
        "intermediate_size": 40,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "tie_word_embeddings": False,
        "vocab_size": 48,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
    }
    cfg.update(overrides)
    return cfg


# name, config, stored dtype, shards (1 = model.safetensors), sequence length
CASES = [
    ("gqa_untied", base_config(), "F32", 1, 11),
    ("mha_tied_bf16", base_config(num_key_value_heads=4, tie_word_embeddings=True, torch_dtype="bfloat16",
                                  rms_norm_eps=1e-6, rope_theta=500000.0), "BF16", 1, 9),
    ("linear_f16", base_config(rope_scaling={"type": "linear", "factor": 2.0}, torch_dtype="float16"), "F16", 1, 12),
    ("dynamic_long", base_config(max_position_embeddings=8, rope_scaling={"rope_type": "dynamic", "factor": 2.0},
                                 num_key_value_heads=1), "F32", 1, 13),
    ("yarn", base_config(head_dim=16, max_position_embeddings=1024,
                         rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 256,
                                       "beta_fast": 8.0, "beta_slow": 1.0}), "F32", 1, 12),
    ("yarn_attention_partial", base_config(partial_rotary_factor=0.5, head_dim=16,
                                           rope_scaling={"type": "yarn", "factor": 2.0, "attention_factor": 1.3}),
     "BF16", 1, 10),
    ("yarn_mscale_untruncated", base_config(max_position_embeddings=96,
                                            rope_scaling={"rope_type": "yarn", "original_max_position_embeddings": 32,
                                                          "truncate": False, "mscale": 0.8, "mscale_all_dim": 0.3}),
     "F32", 1, 9),
    ("v5_rope_parameters", {k: v for k, v in base_config(
        rope_parameters={"rope_type": "linear", "rope_theta": 2000.0, "factor": 3.0}).items()
        if k not in ("rope_theta", "rope_scaling")}, "BF16", 1, 8),
    ("partial_sharded", base_config(partial_rotary_factor=0.25, num_attention_heads=2, num_key_value_heads=1,
                                    num_hidden_layers=3), "F32", 3, 10),
]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    gen = torch.Generator().manual_seed(20261121)
    reference = []
    for name, cfg, dtype, shards, T in CASES:
        directory = os.path.join(OUT, name)
        os.makedirs(directory)
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        weights = random_weights(cfg, gen)
        stored = {k: v.to(STORAGE[dtype]).to(torch.float64) for k, v in weights.items()}
        if shards == 1:
            write_safetensors(os.path.join(directory, "model.safetensors"), weights, dtype)
        else:
            names = sorted(weights)
            weight_map = {}
            for s in range(shards):
                part = names[s::shards]
                file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
                write_safetensors(os.path.join(directory, file), {k: weights[k] for k in part}, dtype)
                weight_map.update({k: file for k in part})
            total = sum(v.numel() * 4 for v in weights.values())
            with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
                f.write("\n")
        ids = torch.randint(0, cfg["vocab_size"], (T,), generator=gen).tolist()
        logits = llama_logits(cfg, stored, ids)
        reference.append({"name": name, "ids": ids, "logits": logits.tolist()})
        print(f"{name}: T={T}, logits range [{logits.min():.3f}, {logits.max():.3f}]")
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(reference, f)
        f.write("\n")


if __name__ == "__main__":
    main()
