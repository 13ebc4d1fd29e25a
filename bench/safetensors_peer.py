#!/usr/bin/python3
"""Peer for bench/safetensors_bench.cpp: the same 128 MB f32 model (32 tensors of 1024x1024) saved and
loaded with PyTorch's own checkpoint format (torch.save with fsync, torch.load). Prints JSON seconds."""
import json
import os
import tempfile
import time

import torch

model = {f"layer.{i}.weight": torch.full((1024, 1024), i * 0.5) for i in range(32)}
path = os.path.join(tempfile.gettempdir(), f"rotor_peer_{os.getpid()}.pt")


def best_of(fn, repeats=5):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def save():
    with open(path, "wb") as f:
        torch.save(model, f)
        f.flush()
        os.fsync(f.fileno())


save_s = best_of(save)
load_s = best_of(lambda: torch.load(path))
os.remove(path)
print(json.dumps({"save_s": save_s, "load_s": load_s, "bytes": 32 * 1024 * 1024 * 4}))
