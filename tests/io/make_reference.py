#!/usr/bin/python3
"""Reference files for rotor's file-format tests, written by independent implementations.

    /usr/bin/python3 tests/io/make_reference.py            # (re)writes tests/io/data/
    /usr/bin/python3 tests/io/make_reference.py --check D  # reads rotor-written files in D back

safetensors files are written with plain struct + json (Debian has no `safetensors` package), following
the format description: u64 little-endian header size, JSON header, data region. Tensor values come from
torch (bf16 rounding) and numpy (f16). NPY files are written by numpy.save itself. Each file has its
expected values in a JSON sidecar (values as float64 lists, from the same library that wrote them).
"""
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def tensor_bytes_and_values(dtype, shape, seed):
    """Deterministic values of the given safetensors dtype: (raw little-endian bytes, float64 list)."""
    import torch  # only generating needs it; --check reads back with numpy alone
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape)) if shape else 1
    base = torch.randn(n, generator=g, dtype=torch.float64) * 3
    if dtype == "F32":
        a = base.float().numpy()
    elif dtype == "F64":
        a = base.numpy()
    elif dtype == "BF16":
        t = base.float().to(torch.bfloat16)
        return t.view(torch.int16).numpy().tobytes(), t.double().tolist()
    elif dtype == "F16":
        a = base.numpy().astype(np.float16)
    elif dtype == "I32":
        a = (base * 1e6).round().numpy().astype(np.int32)
    elif dtype == "I64":
        a = (base * 1e14).round().to(torch.int64).numpy()
    elif dtype == "U8":
        a = (base.abs() * 40).round().clamp(0, 255).numpy().astype(np.uint8)
    elif dtype in ("BOOL", "I8"):
        a = (base > 0).numpy().astype(np.uint8 if dtype == "BOOL" else np.int8)
    else:
        raise ValueError(dtype)
    a = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
    return a.tobytes(), [float(v) for v in a.astype(np.float64).ravel()]


def write_safetensors(path, tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in list order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")  # default ", " / ": " separators: unlike rotor's writer
    if pad:
        text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make_safetensors():
    expected = {}
    specs = [("b.f32", "F32", [2, 3]), ("a.bf16", "BF16", [4]), ("c.f16", "F16", [3]),
             ("d.f64", "F64", [2, 2]), ("e.i32", "I32", [5]), ("f.i64", "I64", [3]),
             ("g.u8", "U8", [6]), ("h.scalar", "F32", []), ("i.empty", "F32", [0, 3])]
    tensors = []
    for seed, (name, dtype, shape) in enumerate(specs):
        raw, values = tensor_bytes_and_values(dtype, shape, seed)
        tensors.append((name, dtype, shape, raw))
        expected[name] = {"dtype": dtype, "shape": shape, "values": values}
    # Layout in the order given (not sorted by name or dtype size, unlike rotor's writer).
    write_safetensors(os.path.join(DATA, "mixed.safetensors"), tensors, {"format": "pt", "note": "reference"})
    write_safetensors(os.path.join(DATA, "mixed_unpadded.safetensors"), tensors, None, pad=False)
    with open(os.path.join(DATA, "mixed.json"), "w") as f:
        json.dump(expected, f, indent=1)

    # Types rotor recognises but does not load.
    raw_b, _ = tensor_bytes_and_values("BOOL", [4], 20)
    raw_i, _ = tensor_bytes_and_values("I8", [3], 21)
    raw_f, vals_f = tensor_bytes_and_values("F32", [2], 22)
    write_safetensors(os.path.join(DATA, "unsupported.safetensors"),
                      [("mask", "BOOL", [4], raw_b), ("q", "I8", [3], raw_i), ("w", "F32", [2], raw_f)])

    # A sharded checkpoint as Hugging Face writes it.
    shard_dir = os.path.join(DATA, "sharded")
    os.makedirs(shard_dir, exist_ok=True)
    shards = {"model-00001-of-00002.safetensors": [("model.embed.weight", "F32", [3, 2]),
                                                   ("model.norm.weight", "BF16", [2])],
              "model-00002-of-00002.safetensors": [("lm_head.weight", "F32", [3, 2])]}
    weight_map, shard_expected = {}, {}
    for i, (fname, specs) in enumerate(sorted(shards.items())):
        tensors = []
        for j, (name, dtype, shape) in enumerate(specs):
            raw, values = tensor_bytes_and_values(dtype, shape, 100 + 10 * i + j)
            tensors.append((name, dtype, shape, raw))
            weight_map[name] = fname
            shard_expected[name] = {"dtype": dtype, "shape": shape, "values": values}
        write_safetensors(os.path.join(shard_dir, fname), tensors, {"format": "pt"})
    with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 52}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(DATA, "sharded.json"), "w") as f:
        json.dump(shard_expected, f, indent=1)


def make_npy():
    rng = np.random.default_rng(7)
    arrays = {
        "f32_2x3": rng.standard_normal((2, 3)).astype(np.float32),
        "f64_4": rng.standard_normal(4),
        "f16_3": rng.standard_normal(3).astype(np.float16),
        "i32_3x2": rng.integers(-10**9, 10**9, (3, 2)).astype(np.int32),
        "i64_2x2x2": rng.integers(-10**15, 10**15, (2, 2, 2)).astype(np.int64),
        "u8_5": rng.integers(0, 256, 5).astype(np.uint8),
        "f32_scalar": np.array(1.5, dtype=np.float32),
        "f32_empty_0x4": np.zeros((0, 4), dtype=np.float32),
        "i64_wide_1x130": rng.integers(-5, 5, (1, 130)).astype(np.int64),
    }
    expected = {}
    for name, a in arrays.items():
        np.save(os.path.join(DATA, name + ".npy"), a)
        expected[name] = {"shape": list(a.shape), "values": [float(v) for v in a.astype(np.float64).ravel()]}
    # Fortran order and format 2.0: only the reader is tested; the C-order twin is the writer's target.
    f = np.asfortranarray(rng.standard_normal((2, 3)))
    np.save(os.path.join(DATA, "f64_fortran_2x3.npy"), f)
    np.save(os.path.join(DATA, "f64_fortran_2x3_as_c.npy"), np.ascontiguousarray(f))
    expected["f64_fortran_2x3"] = {"shape": [2, 3], "values": [float(v) for v in f.ravel(order="C")]}
    v2 = rng.integers(-100, 100, (2, 5)).astype(np.int32)
    with open(os.path.join(DATA, "i32_v2_2x5.npy"), "wb") as fh:
        np.lib.format.write_array(fh, v2, version=(2, 0))
    expected["i32_v2_2x5"] = {"shape": [2, 5], "values": [float(v) for v in v2.ravel()]}
    with open(os.path.join(DATA, "npy.json"), "w") as fh:
        json.dump(expected, fh, indent=1)


def read_safetensors(path):
    """An independent reader used to check files rotor wrote."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    kinds = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I32": np.int32, "I64": np.int64,
             "U8": np.uint8}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            bits = np.frombuffer(data[b:e], dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(data[b:e], dtype=kinds[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return header.get("__metadata__", {}), out


def rotor_test_pattern(a):
    """The values the C++ tests write: i*0.5-3 for floats, i-3 for signed integers, i for u8."""
    i = np.arange(a.size, dtype=np.float64)
    if a.dtype.kind == "f":
        return (i * 0.5 - 3).reshape(a.shape)
    return (i - 3 if a.dtype.kind == "i" else i).reshape(a.shape)


def check_rotor_written(directory):
    """Files written by the C++ test NpyWriter.FilesForNumpy / SafetensorsWriter.FilesForPython (see their comments)."""
    ok = True
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name.endswith(".npy"):
            a = np.load(path)
            good = np.array_equal(a.astype(np.float64), rotor_test_pattern(a))
            print(f"{name}: numpy reads {a.dtype} {a.shape}: {'ok' if good else 'MISMATCH'}")
        elif name.endswith(".safetensors"):
            meta, tensors = read_safetensors(path)
            good = True
            for tname, a in tensors.items():
                good &= bool(np.array_equal(a.astype(np.float64), rotor_test_pattern(a)))
            print(f"{name}: {len(tensors)} tensors, metadata {meta}: {'ok' if good else 'MISMATCH'}")
        else:
            continue
        ok &= good
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(0 if check_rotor_written(sys.argv[2]) else 1)
    os.makedirs(DATA, exist_ok=True)
    make_safetensors()
    make_npy()
    print("wrote", DATA)
