#!/usr/bin/python3
"""A LLaMA parity check that does not share tests/models/make_llama_reference.py's reading of the format.

make_llama_reference.py writes Hugging Face checkpoints and computes their logits in the Hugging Face
conventions (q/k rows as stored, rotary embedding on the half-split pairs (i, i + d/2)). This script
starts from the other side: the weights are drawn in the layout of Meta's original LLaMA release, and
the float64 forward is written in that release's conventions (numpy only, no torch):
  - the rotary embedding rotates adjacent pairs (2i, 2i + 1) of each head, as multiplication of
    complex numbers x[2i] + 1j x[2i+1] by exp(1j * pos * theta^(-2i/head_dim));
  - wq/wk/wv/wo, w1 (gate), w3 (up), w2 (down), attention_norm, ffn_norm, norm, output;
  - grouped key/value heads repeated n_heads / n_kv_heads times (query head h reads kv head h // rep).
It then writes the Hugging Face directory the way the HF conversion does it, by permuting the rows of
wq and wk within each head (row 2i -> i, row 2i + 1 -> i + head_dim/2), writes safetensors with its
own writer, runs `rotor logits` on it and compares. A layout mistake on either side (reading q/k rows
as interleaved, a wrong pairing, GQA head order) changes the logits; as a control the script also
computes the logits with the rows left unpermuted and requires rotor to be far from those.

Usage: llama_meta_check.py ROTOR WORKDIR      (exit status 0 when every case agrees)
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np

CASES = [
    # name, dim, layers, heads, kv_heads, ffn, vocab, theta, eps, tied, storage
    ("gqa", 64, 2, 4, 2, 96, 80, 10000.0, 1e-5, False, "F32"),
    ("mha_tied_bf16", 48, 2, 3, 3, 64, 70, 500000.0, 1e-6, True, "BF16"),
    ("mqa_deep", 32, 3, 4, 1, 40, 50, 10000.0, 1e-5, False, "F32"),
]
T = 12


def to_bf16(a):
    """float64 -> the nearest bfloat16 (ties to even), returned as float64 and as its uint16 bits."""
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return (rounded.astype(np.uint32) << 16).view(np.float32).astype(np.float64), rounded


def stored(a, storage):
    """The weight as the checkpoint stores it (values used by the reference) and its bytes."""
    if storage == "BF16":
        value, bits = to_bf16(a)
        return value, bits.astype("<u2").tobytes()
    value = a.astype(np.float32)
    return value.astype(np.float64), value.astype("<f4").tobytes()


def write_safetensors(path, named):  # named: {name: (shape, dtype string, bytes)}
    header, blobs, offset = {}, [], 0
    for name in sorted(named):
        shape, dtype, blob = named[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def meta_weights(rng, dim, layers, heads, kv_heads, ffn, vocab, tied):
    hd = dim // heads
    w = {"tok_embeddings": rng.standard_normal((vocab, dim)), "norm": 1 + 0.1 * rng.standard_normal(dim)}
    if not tied:
        w["output"] = rng.standard_normal((vocab, dim)) / np.sqrt(dim)
    for i in range(layers):
        p = f"layers.{i}."
        w[p + "wq"] = rng.standard_normal((heads * hd, dim)) / np.sqrt(dim)
        w[p + "wk"] = rng.standard_normal((kv_heads * hd, dim)) / np.sqrt(dim)
        w[p + "wv"] = rng.standard_normal((kv_heads * hd, dim)) / np.sqrt(dim)
        w[p + "wo"] = rng.standard_normal((dim, heads * hd)) / np.sqrt(heads * hd)
        w[p + "w1"] = rng.standard_normal((ffn, dim)) / np.sqrt(dim)
        w[p + "w3"] = rng.standard_normal((ffn, dim)) / np.sqrt(dim)
        w[p + "w2"] = rng.standard_normal((dim, ffn)) / np.sqrt(ffn)
        w[p + "attention_norm"] = 1 + 0.1 * rng.standard_normal(dim)
        w[p + "ffn_norm"] = 1 + 0.1 * rng.standard_normal(dim)
    return w


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rotate_adjacent_pairs(x, theta):
    """x [T, n, hd]: pairs (2i, 2i+1) as complex numbers times exp(1j * t * theta^(-2i/hd))."""
    t_len, _, hd = x.shape
    freqs = theta ** (-np.arange(0, hd, 2) / hd)
    angles = np.outer(np.arange(t_len), freqs)  # [T, hd/2]
    z = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * angles)[:, None, :]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


def meta_forward(w, ids, layers, heads, kv_heads, theta, eps, tied):
    h = w["tok_embeddings"][ids]
    t_len, dim = h.shape
    hd = dim // heads
    rep = heads // kv_heads
    mask = np.triu(np.full((t_len, t_len), -np.inf), 1)
    for i in range(layers):
        p = f"layers.{i}."
        x = rms_norm(h, w[p + "attention_norm"], eps)
        q = rotate_adjacent_pairs((x @ w[p + "wq"].T).reshape(t_len, heads, hd), theta)
        k = rotate_adjacent_pairs((x @ w[p + "wk"].T).reshape(t_len, kv_heads, hd), theta)
        v = (x @ w[p + "wv"].T).reshape(t_len, kv_heads, hd)
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)  # head h reads kv head h // rep
        scores = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(hd) + mask
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        h = h + np.einsum("hqk,khd->qhd", scores, v).reshape(t_len, heads * hd) @ w[p + "wo"].T
        x = rms_norm(h, w[p + "ffn_norm"], eps)
        gate = x @ w[p + "w1"].T
        h = h + ((gate / (1 + np.exp(-gate))) * (x @ w[p + "w3"].T)) @ w[p + "w2"].T
    h = rms_norm(h, w["norm"], eps)
    return h @ (w["tok_embeddings"] if tied else w["output"]).T


def to_hf_rows(wqk, n, hd):
    """Meta's q/k rows -> Hugging Face's: within each head, row 2i goes to i and row 2i+1 to i + hd/2."""
    dim_in = wqk.shape[1]
    return wqk.reshape(n, hd // 2, 2, dim_in).transpose(0, 2, 1, 3).reshape(n * hd, dim_in)


HF_NAMES = {"wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj", "wo": "self_attn.o_proj",
            "w1": "mlp.gate_proj", "w3": "mlp.up_proj", "w2": "mlp.down_proj",
            "attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}


def write_hf(out, w, dim, layers, heads, kv_heads, ffn, vocab, theta, eps, tied, storage, permute=True):
    """Rounds w to the storage type (in place: the reference then uses the stored values) and writes the HF dir."""
    os.makedirs(out, exist_ok=True)
    hd = dim // heads
    named = {}
    for key in list(w):
        w[key], blob = stored(w[key], storage)
        if key == "tok_embeddings":
            name = "model.embed_tokens.weight"
        elif key == "norm":
            name = "model.norm.weight"
        elif key == "output":
            name = "lm_head.weight"
        else:
            _, i, part = key.split(".")
            name = f"model.layers.{i}.{HF_NAMES[part]}.weight"
            if permute and part in ("wq", "wk"):
                n = heads if part == "wq" else kv_heads
                _, blob = stored(to_hf_rows(w[key], n, hd), storage)
        named[name] = (w[key].shape, storage, blob)
    write_safetensors(os.path.join(out, "model.safetensors"), named)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
              "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": kv_heads, "max_position_embeddings": 64, "rms_norm_eps": eps,
              "rope_theta": theta, "rope_scaling": None, "tie_word_embeddings": tied, "vocab_size": vocab,
              "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
              "torch_dtype": "bfloat16" if storage == "BF16" else "float32"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def read_npy_f32(path):
    raw = open(path, "rb").read()
    assert raw[:6] == b"\x93NUMPY", f"{path}: not an NPY file"
    n = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + n].decode()
    assert "'descr': '<f4'" in header and "'fortran_order': False" in header, header
    shape = tuple(int(s) for s in header.split("'shape': (")[1].split(")")[0].split(",") if s.strip())
    return np.frombuffer(raw[10 + n:], dtype="<f4").reshape(shape).astype(np.float64)


def main():
    rotor, work = sys.argv[1], sys.argv[2]
    failed = False
    for case in CASES:
        name, dim, layers, heads, kv_heads, ffn, vocab, theta, eps, tied, storage = case
        rng = np.random.default_rng(len(name) * 7919 + dim)
        w = meta_weights(rng, dim, layers, heads, kv_heads, ffn, vocab, tied)
        ids = rng.integers(0, vocab, T)
        out = os.path.join(work, name)
        write_hf(out, w, dim, layers, heads, kv_heads, ffn, vocab, theta, eps, tied, storage)
        want = meta_forward(w, ids, layers, heads, kv_heads, theta, eps, tied)
        # the control: Meta's adjacent pairing applied to the rows as Hugging Face stores them (a reader
        # that misses the permutation)
        control_w = {k: v.copy() for k, v in w.items()}
        hd = dim // heads
        for k in control_w:
            if k.endswith(".wq") or k.endswith(".wk"):
                n = heads if k.endswith(".wq") else kv_heads
                control_w[k] = to_hf_rows(control_w[k], n, hd)
        control = meta_forward(control_w, ids, layers, heads, kv_heads, theta, eps, tied)
        npy = os.path.join(work, name + ".npy")
        run = subprocess.run([rotor, "logits", "--model", out, "--ids", ",".join(map(str, ids)), "--out", npy,
                              "--threads", "1"], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL: {name}: rotor logits exited {run.returncode}: {run.stderr.strip()}")
            failed = True
            continue
        got = read_npy_f32(npy)
        if got.shape != want.shape:
            print(f"FAIL: {name}: rotor wrote shape {got.shape}, want {want.shape}")
            failed = True
            continue
        err = np.max(np.abs(got - want) / (1 + np.abs(want)))
        control_err = np.max(np.abs(got - control) / (1 + np.abs(control)))
        ok = err <= 1e-4 and control_err > 1e-2
        print(f"{'ok' if ok else 'FAIL'}: {name}: max relative error {err:.2e} against Meta's conventions "
              f"({control_err:.2e} against the unpermuted control)")
        failed |= not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
