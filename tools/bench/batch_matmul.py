"""PyTorch side of packages/tensor/bench/batch-matmul.bench.mjs: batched float32 matMuls (torch.bmm, or torch.mm
for a batch of 1), on one thread or `--threads T` (torch.set_num_threads). Usage: batch_matmul.py [--threads T]
batch,m,k,n ..."""
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


# Shapes as "batch,m,k,n" arguments (the bench passes the ones it times).
results = {}
for spec in args:
    batch, m, k, n = (int(v) for v in spec.split(","))
    if batch == 1:
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        results[spec] = median_ms(lambda: torch.mm(a, b))
    else:
        a = torch.randn(batch, m, k)
        b = torch.randn(batch, k, n)
        results[spec] = median_ms(lambda: torch.bmm(a, b))

print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads(), "ms": results}))
