"""POT (PythonOT) reference values for @distillery/ot's sinkhorn, sinkhornUnbalanced and partialWasserstein.

Run with Debian's interpreter: /usr/bin/python3 tools/reference/ot/sinkhorn_pot.py
Inputs are rounded to float32 (what the TS side receives) and solved by POT in float64.
Writes packages/ot/test/fixtures/sinkhorn-pot.json.
"""
import json
import os
import warnings

import numpy as np
import ot

warnings.simplefilter("ignore")
OUT = os.path.join(os.path.dirname(__file__), "../../../packages/ot/test/fixtures/sinkhorn-pot.json")


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def hist(rng, n):
    h = rng.uniform(0.2, 1.0, n)
    return f32(h / h.sum())


def r(x):
    return np.asarray(x).ravel().tolist()


cases = []
rng = np.random.default_rng(1234)

# balanced: POT sinkhorn_knopp (kernel form) where it is finite, sinkhorn_log for tiny reg
for name, n, k, reg, max_iter, tol, method, uniform in [
    ("balanced-reg0.1", 7, 5, 0.1, 1000, 1e-7, "sinkhorn", False),
    ("balanced-reg0.05-uniform", 9, 6, 0.05, 1000, 1e-7, "sinkhorn", True),
    ("balanced-maxiter", 8, 4, 0.02, 25, 1e-9, "sinkhorn", False),
    ("balanced-reg1e-3-log", 6, 6, 1e-3, 1000, 1e-7, "sinkhorn_log", False),
]:
    M = f32(rng.uniform(0, 1, (n, k)))
    a = np.ones(n) / n if uniform else hist(rng, n)
    b = np.ones(k) / k if uniform else hist(rng, k)
    b = b * (a.sum() / b.sum())
    b = f32(b)
    G, log = ot.sinkhorn(a, b, M, reg, method=method, numItermax=max_iter, stopThr=tol, log=True)
    err_len = len(log["err"])
    converged = log["err"][-1] < tol
    cases.append(dict(kind="sinkhorn", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, maxIter=max_iter,
                      tol=tol, plan=r(G), iterations=int(log["niter"]) + 1, converged=bool(converged),
                      finite=bool(np.all(np.isfinite(G)))))

# unbalanced: POT 0.8 sinkhorn_knopp_unbalanced (entropy kernel)
for name, n, k, reg, reg_m, max_iter in [
    ("unbalanced-reg0.1-m1", 7, 5, 0.1, 1.0, 1000),
    ("unbalanced-reg0.1-m5", 6, 8, 0.1, 5.0, 1000),
    ("unbalanced-maxiter", 5, 5, 0.05, 0.5, 7),
]:
    M = f32(rng.uniform(0, 1, (n, k)))
    a = hist(rng, n)
    b = f32(hist(rng, k) * 1.5)
    G, log = ot.unbalanced.sinkhorn_knopp_unbalanced(a, b, M, reg, reg_m, numItermax=max_iter, stopThr=1e-6, log=True)
    its = len(log["err"])
    cases.append(dict(kind="unbalanced", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, regMarginals=reg_m,
                      maxIter=max_iter, tol=1e-6, plan=r(G), iterations=its, converged=bool(log["err"][-1] < 1e-6)))

# partial: POT entropic_partial_wasserstein
for name, n, k, reg, m, max_iter, tol in [
    ("partial-m0.5", 6, 5, 0.1, 0.5, 60, 1e-100),
    ("partial-m0.8-tol", 7, 4, 0.05, 0.8, 1000, 1e-9),
]:
    M = f32(rng.uniform(0, 1, (n, k)))
    a = hist(rng, n)
    b = hist(rng, k)
    G, log = ot.partial.entropic_partial_wasserstein(a, b, M, reg, m=m, numItermax=max_iter, stopThr=tol, log=True)
    errs = log["err"]
    converged = errs[-1] <= tol
    its = 10 * (len(errs) - 1) + 1 if converged else max_iter
    cases.append(dict(kind="partial", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, mass=m,
                      maxIter=max_iter, tol=tol, plan=r(G), iterations=its, converged=bool(converged)))

with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/ot/sinkhorn_pot.py", "pot": ot.__version__, "cases": cases}, fh)
print("wrote", OUT, [(c["name"], c["iterations"]) for c in cases])
