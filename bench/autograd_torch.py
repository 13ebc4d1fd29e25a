#!/usr/bin/python3
"""The PyTorch side of bench/autograd_bench.cpp: the same models and steps, same output format
("name milliseconds_per_step", the median after 3 warm-up steps). Usage: autograd_torch.py [THREADS] [STEPS]"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
torch.set_num_threads(threads)
torch.manual_seed(0)


def median_ms(step):
    for _ in range(3):
        step()
    ms = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ms)


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                               torch.nn.ReLU(), torch.nn.Linear(1024, 10))


def cnn():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(),
                               torch.nn.Linear(128, 10))


def bench(name, model, input_shape, adam, bf16=False):
    x = torch.randn(*input_shape)
    y = torch.randint(0, 10, (input_shape[0],))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01) if adam else \
        torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    print(f"{name} {median_ms(step):.4f}", flush=True)


bench("mlp_sgd_f32", mlp(), (128, 784), False)
bench("mlp_adam_f32", mlp(), (128, 784), True)
bench("mlp_sgd_bf16", mlp(), (128, 784), False, bf16=True)
bench("cnn_sgd_f32", cnn(), (64, 1, 28, 28), False)
bench("cnn_sgd_bf16", cnn(), (64, 1, 28, 28), False, bf16=True)
