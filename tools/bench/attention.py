"""PyTorch side of packages/tensor/bench/attention.bench.mjs: attention softmax(q·kᵀ·scale)·v forward + backward
(dq, dk, dv) on [B, H, N, d] float32 tensors, as timm's layers/attention.py computes it without fused_attn (PyTorch
1.13 has no F.scaled_dot_product_attention), on one thread or `--threads T` (torch.set_num_threads).
Usage: attention.py [--threads T] B,H,N,d ..."""
import json
import sys
import time

import torch

args = sys.argv[1:]
threads = 1
if args[:1] == ["--threads"]:
    threads = int(args[1])
    args = args[2:]
torch.set_num_threads(threads)
torch.manual_seed(0)


def median_ms(fn, warmup=3, repeats=15):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


results = {}
for spec in args:
    b, h, n, d = (int(v) for v in spec.split(","))
    q = torch.randn(b, h, n, d, requires_grad=True)
    k = torch.randn(b, h, n, d, requires_grad=True)
    v = torch.randn(b, h, n, d, requires_grad=True)
    w = torch.randn(b, h, n, d)
    scale = d**-0.5

    def forward():
        return ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v

    def step():
        out = forward()
        q.grad = k.grad = v.grad = None
        out.backward(w)

    with torch.no_grad():
        fwd = median_ms(forward)
    results[spec] = {"forwardMs": fwd, "stepMs": median_ms(step)}

print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "ms": results}))
