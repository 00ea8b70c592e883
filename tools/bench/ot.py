"""Reference side of packages/ot/bench/ot.bench.mjs, one thread: the official P²OT solver (Zhang et al., ICLR 2024,
arXiv 2401.09266, §3; `p2ot` below follows rhfeiyang/PPOT utils/sinkhorn_knopp.py `SemiCurrSinkhornKnopp.forward` at
commit bd6721c4b5f6581ae5cd896eba9cc9250c769997 line by line: kernel form, in float64 on the CPU instead of CUDA) and
POT's ot.sinkhorn on the same deterministic inputs as the JS side. Prints JSON.

Usage: /usr/bin/python3 tools/bench/ot.py '<json spec>'
  spec = {"p2ot": [{"n":5120,"k":100,"maxIter":1000}, ...], "sinkhorn": [{"n":1000,"reg":0.05,"maxIter":1000}]}
"""
import json
import os
import sys
import time

# this file is named ot.py: keep its folder off sys.path so `import ot` finds POT
_here = os.path.dirname(os.path.abspath(__file__))
sys.path = [p for p in sys.path if os.path.abspath(p or os.getcwd()) != _here]
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import ot  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def bench_logits(n, k):
    """Same formula as the JS side: z_ij = 4 sin(0.37 i + 1.7 j) + 2 cos(0.05 (i mod 97) j), rounded to float32."""
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(k, dtype=np.float64)[None, :]
    z = 4 * np.sin(0.37 * i + 1.7 * j) + 2 * np.cos(0.05 * np.mod(i, 97) * j)
    return z.astype(np.float32)


def bench_points(n):
    i = np.arange(n, dtype=np.float64)
    x = np.stack([np.sin(0.37 * i), np.cos(1.3 * i), np.sin(0.11 * i + 1)], 1)
    y = np.stack([np.cos(0.23 * i), np.sin(0.71 * i + 2), np.cos(0.05 * i)], 1)
    return x.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64)


@torch.no_grad()
def p2ot(logits, rho, eps=0.1, gamma=1.0, tol=1e-6, max_iter=1000):
    P = torch.from_numpy(logits).double()
    P = -torch.log(torch.softmax(P, dim=1))
    n, k = P.shape
    Q = torch.exp(-torch.cat([P, torch.zeros(n, 1, dtype=torch.float64)], 1) / eps)
    Pa = torch.ones(n, 1, dtype=torch.float64) / n
    Pb = rho * torch.ones(k + 1, 1, dtype=torch.float64) / k
    Pb[-1] = 1 - rho
    b = torch.ones(k + 1, 1, dtype=torch.float64) / (k + 1)
    fi = gamma / (gamma + eps)
    err, last_b, it = 1.0, b.clone(), 0
    while err > tol and it < max_iter:
        a = Pa / (Q @ b)
        b = Pb / (Q.t() @ a)
        b[:-1] = torch.pow(b[:-1], fi)
        err = torch.norm(b - last_b).item()
        last_b = b.clone()
        it += 1
    plan = n * a * Q * b.T
    return plan[:, :-1].float(), it


def median(times):
    """Median of the timed runs after the first (a warm-up), as the JS side reports."""
    xs = sorted(times[1:] if len(times) > 1 else times)
    return xs[len(xs) // 2]


spec = json.loads(sys.argv[1])
out = {"torch": torch.__version__, "pot": ot.__version__, "p2ot": [], "sinkhorn": []}
for c in spec.get("p2ot", []):
    logits = bench_logits(c["n"], c["k"])
    times = []
    for _ in range(c.get("repeats", 1)):
        t = time.perf_counter()
        _, it = p2ot(logits, c.get("rho", 0.5), max_iter=c["maxIter"])
        times.append((time.perf_counter() - t) * 1000)
    out["p2ot"].append(dict(n=c["n"], k=c["k"], ms=median(times), iterations=it))
for c in spec.get("sinkhorn", []):
    x, y = bench_points(c["n"])
    M = ot.dist(x, y)
    M = (M / M.max()).astype(np.float32).astype(np.float64)
    a = np.ones(c["n"]) / c["n"]
    times = []
    for _ in range(c.get("repeats", 1)):
        t = time.perf_counter()
        _, log = ot.sinkhorn(a, a, M, c["reg"], numItermax=c["maxIter"], stopThr=c.get("tol", 1e-9), log=True)
        times.append((time.perf_counter() - t) * 1000)
    out["sinkhorn"].append(dict(n=c["n"], reg=c["reg"], ms=median(times), iterations=int(log["niter"]) + 1))
print(json.dumps(out))
