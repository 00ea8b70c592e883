"""PyTorch side of packages/tensor/bench/batch-matmul.bench.mjs: batched float32 matMuls (torch.bmm), one thread."""
import json
import sys
import time

import torch

torch.set_num_threads(1)
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
for spec in sys.argv[1:]:
    batch, m, k, n = (int(v) for v in spec.split(","))
    a = torch.randn(batch, m, k)
    b = torch.randn(batch, k, n)
    results[spec] = median_ms(lambda: torch.bmm(a, b))

print(json.dumps({"version": torch.__version__, "ms": results}))
