"""NumPy float64 transcription of the official P²OT and SP²OT solvers, plus the kNN Gaussian similarity.

- P²OT (Zhang et al., ICLR 2024, arXiv 2401.09266: the fast matrix-scaling solver with a virtual cluster):
  `P2OT.cost_forward` follows
  rhfeiyang/PPOT utils/sinkhorn_knopp.py `SemiCurrSinkhornKnopp.forward` at commit
  bd6721c4b5f6581ae5cd896eba9cc9250c769997 line by line (kernel form, b kept for the next call).
- SP²OT (Zhang et al., arXiv 2404.03446: the Majorization–Minimization algorithm around P²OT):
  `P2OTStable.cost_forward` and `mmot` follow
  rhfeiyang/SPPOT utils/sinkhorn_knopp.py `SemiCurrSinkhornKnopp_stable.cost_forward` and `MMOT.forward` at commit
  788a7a4670cc6c3205566cfda4d7fa502343daa8 (the default `--sk_type sppot_stable`, `--mm_factor 1000`,
  `--mm_iter_limit 100` of its train.py), with torch replaced by NumPy float64 (the official code mixes float32).
- kNN Gaussian similarity: rhfeiyang/SPPOT utils/structure.py `get_dataset_feature_similarity` (kernel 'gauss',
  similarity_type ['rmDiag', 'knn']), same commit.

The SP²OT cases are chosen where the official loop converges (every inner solve below its 1000 iterations and the
transported mass equal to ρ): at the official default λ₁ on small banks it does not (see
packages/ot/test/numerics.test.ts), which our solver handles differently by design.

Run with Debian's interpreter: /usr/bin/python3 tools/reference/ot/p2ot_numpy.py
Writes packages/ot/test/fixtures/p2ot.json.
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/ot/test/fixtures/p2ot.json")
TINY = float(np.finfo(np.float32).tiny)


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def r(x):
    return np.asarray(x).ravel().tolist()


def cost_from_logits(logits):
    m = logits.max(1, keepdims=True)
    lse = m + np.log(np.exp(logits - m).sum(1, keepdims=True))
    return lse - logits


class P2OT:
    """SemiCurrSinkhornKnopp: b is kept for the next call (warm start)."""

    def __init__(self, rho, epsilon=0.1, gamma=1.0, tol=1e-6, max_iter=1000, semi=True):
        self.rho, self.eps, self.gamma, self.tol, self.max_iter, self.semi = rho, epsilon, gamma, tol, max_iter, semi
        self.b = None

    def cost_forward(self, C, final=True):
        n, k = C.shape
        Ch = np.concatenate([C, np.zeros((n, 1))], 1)
        Q = np.exp(-Ch / self.eps)
        Pa = np.ones((n, 1)) / n
        Pb = self.rho * np.ones((k + 1, 1)) / k
        Pb[-1] = 1 - self.rho
        b = np.ones((k + 1, 1)) / (k + 1) if self.b is None else self.b
        fi = self.gamma / (self.gamma + self.eps)
        err, last_b, it = 1.0, b.copy(), 0
        while err > self.tol and it < self.max_iter:
            a = Pa / (Q @ b)
            b = Pb / (Q.T @ a)
            if self.semi:
                b[:-1] = b[:-1] ** fi
            err = np.linalg.norm(b - last_b)
            last_b = b.copy()
            it += 1
        plan = a * Q * b.T
        if final:
            plan = plan * n
        self.b = b
        return plan[:, :-1], it


class P2OTStable(P2OT):
    """SemiCurrSinkhornKnopp_stable.cost_forward (rhfeiyang/SPPOT utils/sinkhorn_knopp.py, commit 788a7a4): the
    kernel form with Schmitzer absorptions once max(a, b) > 1e8; u, v, b persist across calls (the MM loop's solves
    warm-start each other), and reset when N changes. Tolerance 1e-10 (the class default)."""

    def __init__(self, rho, epsilon=0.1, gamma=1.0, tol=1e-10, max_iter=1000):
        super().__init__(rho, epsilon, gamma, tol, max_iter, True)
        self.u = None
        self.v = None

    def cost_forward(self, C, final=True):
        n, k = C.shape
        if self.u is not None and self.u.shape[0] != n:
            self.u = self.v = self.b = None
        Ch = np.concatenate([C, np.zeros((n, 1))], 1)
        if self.u is None:
            u = np.zeros((n, 1))
            v = np.zeros((k + 1, 1))
            Q = np.exp(-Ch / self.eps)
        else:
            u, v = self.u, self.v
            Q = np.exp((u - Ch + v.T) / self.eps)
        Pa = np.ones((n, 1)) / n
        Pb = self.rho * np.ones((k + 1, 1)) / k
        Pb[-1] = 1 - self.rho
        fi = self.gamma / (self.gamma + self.eps)
        b = np.ones((k + 1, 1)) / (k + 1) if self.b is None else self.b
        w = np.exp(v[:-1, :] * (fi - 1) / self.eps)
        err, last_b, it, stabled = 1.0, b.copy(), 0, False
        while err > self.tol and it < self.max_iter:
            a = Pa / (Q @ b)
            b = Pb / (Q.T @ a)
            if self.semi:
                b[:-1, :] = b[:-1, :] ** fi * w
            err = np.linalg.norm(b - last_b)
            if max(a.max(), b.max()) > 1e8:
                u = u + self.eps * np.log(a)
                v = v + self.eps * np.log(b + np.finfo(np.float64).eps)
                w = w * b[:-1, :] ** (fi - 1)
                Q = np.exp((u - Ch + v.T) / self.eps)
                b[:, :] = 1
                stabled = True
            else:
                stabled = False
            last_b = b.copy()
            it += 1
        plan = Q if stabled else a * Q * b.T
        if final:
            plan = plan * n
        self.b, self.u, self.v = b, u, v
        return plan[:, :-1], it


def mmot(C, S, sk, lam, mm_iter=100, mm_tol=1e-6):
    """MMOT.forward (rhfeiyang/SPPOT utils/sinkhorn_knopp.py, commit 788a7a4), ema = 1: Q⁰ = ρ/(N·K), then
    Q = sk.cost_forward(C − λ·(S + Sᵀ)Q, final=False) until |f(Q) − f(Q_prev)| < stoperr; returns N·Q."""
    n, k = C.shape
    sst = S + S.T

    def fval(Q):
        return (Q * C).sum() - lam * (S * (Q @ Q.T)).sum() + sk.eps * (Q * np.log(Q + TINY)).sum()

    Q = np.ones_like(C) / (n * k) * sk.rho
    old = fval(Q)
    inner = 0
    for i in range(mm_iter):
        Q, cnt = sk.cost_forward(C - lam * (sst @ Q), final=False)
        inner += cnt
        new = fval(Q)
        if abs(new - old) < mm_tol:
            break
        old = new
    return Q * n, i + 1, inner, new


def knn_gauss(X, k, sigma):
    n, d = X.shape
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    S = np.exp(-d2 / (2 * sigma ** 2 * d))
    S[np.eye(n, dtype=bool)] = 0
    idx = np.argsort(-S, axis=1, kind="stable")[:, :k]
    K = np.zeros_like(S)
    rows = np.arange(n)[:, None]
    K[rows, idx] = S[rows, idx]
    return K


rng = np.random.default_rng(7)
cases = []
for name, n, k, scale, rho, eps, gamma, semi, max_iter in [
    ("rho0.1", 40, 5, 3.0, 0.1, 0.1, 1.0, True, 1000),
    ("rho0.5-imbalanced", 60, 6, 5.0, 0.5, 0.1, 1.0, True, 1000),
    ("rho1", 30, 4, 2.0, 1.0, 0.1, 1.0, True, 1000),
    ("pot-semi-false", 40, 5, 3.0, 0.4, 0.1, 1.0, False, 1000),
    ("eps0.05-gamma2", 50, 8, 4.0, 0.3, 0.05, 2.0, True, 1000),
    ("maxiter", 30, 5, 3.0, 0.6, 0.1, 1.0, True, 12),
]:
    logits = rng.normal(size=(n, k)) * scale
    if name == "rho0.5-imbalanced":
        logits[:, 0] += 2.0
    logits = f32(logits)
    sk = P2OT(rho, eps, gamma, 1e-6, max_iter, semi)
    Q, it = sk.cost_forward(cost_from_logits(logits))
    case = dict(kind="p2ot", name=name, n=n, k=k, logits=r(logits), rho=rho, epsilon=eps, gamma=gamma,
                semiRelaxed=semi, maxIter=max_iter, Q=r(Q), iterations=it)
    if name == "rho0.1":  # second call warm-started from the first (another view)
        logits2 = f32(logits + rng.normal(size=(n, k)) * 0.5)
        Q2, it2 = sk.cost_forward(cost_from_logits(logits2))
        case.update(logits2=r(logits2), Q2=r(Q2), iterations2=it2)
    cases.append(case)

# kNN Gaussian similarity + SP²OT
for name, n, k, d, knn, sigma, rho, scale, mm_factor in [
    ("sp2ot-rho0.3", 36, 4, 6, 5, 2.0, 0.3, 3.0, 20.0),
    ("sp2ot-rho0.8", 30, 3, 5, 4, 1.0, 0.8, 2.0, 50.0),
]:
    centers = rng.normal(size=(k, d)) * 3
    labels = rng.integers(0, k, n)
    X = f32(centers[labels] + rng.normal(size=(n, d)))
    S = knn_gauss(X, knn, sigma)
    logits = f32(rng.normal(size=(n, k)) * scale)
    sk = P2OTStable(rho)
    lam = (1 - rho) * mm_factor
    Q, outer, inner, fval = mmot(cost_from_logits(logits), S, sk, lam)
    nz = np.nonzero(S)
    cases.append(dict(kind="sp2ot", name=name, n=n, k=k, d=d, knn=knn, sigma=sigma, features=r(X), logits=r(logits),
                      rho=rho, S_rows=r(nz[0]), S_cols=r(nz[1]), S_vals=r(S[nz]), Q=r(Q), outer=outer, inner=inner,
                      objective=fval, lam=lam, mmFactor=mm_factor))
    assert abs(Q.sum() / n - rho) < 1e-6, (name, "official loop did not converge", Q.sum() / n)

with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/ot/p2ot_numpy.py", "cases": cases}, fh)
print("wrote", OUT, [(c["name"], c.get("iterations"), c.get("iterations2"), c.get("outer"), c.get("inner")) for c in cases])
