"""Shared helpers for the @distillery/vit reference scripts: a hand-written safetensors writer and JSON output."""
import json
import struct

import numpy as np
import torch


def write_safetensors(path, tensors):
    """safetensors: u64 LE header length, JSON header (space-padded to 8 bytes), raw little-endian data."""
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().astype("<i8").tobytes()
        else:
            dtype, data = "F32", t.to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for c in chunks:
            f.write(c)


def flat(t):
    """Values rounded to 9 significant digits (exact for float32 inputs, far below the test tolerances)."""
    return [float(f"{v:.9g}") for v in t.detach().cpu().double().reshape(-1).numpy()]


def nhwc(t):
    """NCHW torch tensor -> flat NHWC values + NHWC shape."""
    p = t.permute(0, 2, 3, 1)
    return {"shape": list(p.shape), "values": flat(p)}


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print("wrote", path)


def rounded_input(shape, gen):
    """Inputs exactly representable in float32."""
    return torch.randn(*shape, generator=gen).to(torch.float32).double()


np.set_printoptions(precision=6)
