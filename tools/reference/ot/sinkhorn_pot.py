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

# zero masses (issue 13): zero-mass rows and columns must come out as exact zeros. POT's sinkhorn_log and
# sinkhorn_knopp_unbalanced are finite there; its entropic_partial_wasserstein is all-NaN (0/0 in the Dykstra
# corrections), so the partial reference is POT on the problem restricted to the positive masses, scattered back
# (a zero-mass row or column carries no mass in any feasible plan).
for name, n, k, reg, kind, zero_a, zero_b in [
    ("zero-mass-balanced-reg1e-3-log", 4, 3, 1e-3, "sinkhorn", [], [0, 1]),
    ("zero-mass-balanced-reg0.05", 6, 5, 0.05, "sinkhorn", [1, 4], [2]),
    ("zero-mass-unbalanced-reg0.1", 5, 4, 0.1, "unbalanced", [0, 3], [1, 3]),
    ("zero-mass-partial-reg0.1", 5, 4, 0.1, "partial", [0, 3], [1]),
]:
    M = f32(rng.uniform(0, 10 if name.endswith("1e-3-log") else 1, (n, k)))
    a = hist(rng, n)
    a[zero_a] = 0
    a = f32(a / a.sum())
    b = hist(rng, k)
    b[zero_b] = 0
    b = f32(b / b.sum())
    if kind == "sinkhorn":
        b = f32(b * (a.sum() / b.sum()))
        G, log = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=1000, stopThr=1e-9, log=True)
        cases.append(dict(kind="sinkhorn", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, maxIter=1000,
                          tol=1e-9, plan=r(G), iterations=int(log["niter"]) + 1,
                          converged=bool(log["err"][-1] < 1e-9), finite=bool(np.all(np.isfinite(G)))))
    elif kind == "unbalanced":
        G, log = ot.unbalanced.sinkhorn_knopp_unbalanced(a, b, M, reg, 1.0, numItermax=1000, stopThr=1e-6, log=True)
        cases.append(dict(kind="unbalanced", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, regMarginals=1.0,
                          maxIter=1000, tol=1e-6, plan=r(G), iterations=len(log["err"]),
                          converged=bool(log["err"][-1] < 1e-6)))
    else:
        ra, rb = a > 0, b > 0
        Gr = ot.partial.entropic_partial_wasserstein(a[ra], b[rb], M[np.ix_(ra, rb)], reg, m=0.6, numItermax=1000,
                                                     stopThr=1e-100)
        G = np.zeros((n, k))
        G[np.ix_(ra, rb)] = Gr
        cases.append(dict(kind="partial", name=name, a=r(a), b=r(b), cost=r(M), n=n, k=k, reg=reg, mass=0.6,
                          maxIter=1000, tol=1e-100, plan=r(G), iterations=1000, converged=False))

with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/ot/sinkhorn_pot.py", "pot": ot.__version__, "cases": cases}, fh)
print("wrote", OUT, [(c["name"], c["iterations"]) for c in cases])
