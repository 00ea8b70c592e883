"""NumPy float64 reference for @distillery/pseudo-labels' TPN label propagation and GP-MAML adaptive picking
(written from /work/shared/reference/pseudo-labels.md §3; branpent/gp-maml `LabelPropagation`, utils.py
`adaptivePicking`).

Run with Debian's interpreter: /usr/bin/python3 tools/reference/pseudo-labels/label_propagation.py
Writes packages/pseudo-labels/test/fixtures/label-propagation.json.
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/pseudo-labels/test/fixtures/label-propagation.json")
rng = np.random.default_rng(21)


def f32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def propagate(emb, ys, c, k, alpha, sigma):
    m, d = emb.shape
    z = emb / sigma[:, None]
    W = np.exp(-((z[:, None, :] - z[None, :, :]) ** 2).mean(-1) / 2)
    np.fill_diagonal(W, 0)
    keep = np.zeros_like(W, dtype=bool)
    for i in range(m):
        order = np.argsort(-W[i], kind="stable")
        order = order[order != i][:k]
        keep[i, order] = True
    keep = keep | keep.T
    W = W * keep
    deg = W.sum(1)
    S = W / np.sqrt(deg[:, None] * deg[None, :])
    Y = np.zeros((m, c))
    Y[np.arange(len(ys)), ys] = 1
    return np.linalg.solve(np.eye(m) - alpha * S, Y)


def picking(F_q, c, pic_num):
    p = np.exp(F_q - F_q.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    conf, pred = p.max(1), p.argmax(1)
    top = np.argsort(-conf, kind="stable")[:pic_num]
    buckets = [[i for i in top if pred[i] == j] for j in range(c)]
    min_len = min(len(b) for b in buckets)
    idx = [buckets[j][t] for t in range(min_len) for j in range(c)]
    lab = [j for t in range(min_len) for j in range(c)]
    return idx, lab, min_len


cases = []
for ways, shots, queries, d, k, alpha, pic, per_sample_sigma in [
    (5, 1, 6, 6, 4, 0.5, 30, False),
    (4, 2, 5, 5, 4, 0.8, 16, True),
    (3, 1, 4, 4, 20, 0.99, 12, False),
]:
    centers = rng.normal(size=(ways, d)) * 2
    ys = [c for s in range(shots) for c in range(ways)]
    yq = [c for q in range(queries) for c in range(ways)]
    emb = f32(np.concatenate([centers[ys], centers[yq]]) + rng.normal(size=(len(ys) + len(yq), d)))
    sigma = f32(rng.uniform(0.5, 2.0, len(emb))) if per_sample_sigma else np.ones(len(emb))
    F = propagate(emb, ys, ways, min(k, len(emb) - 1), alpha, sigma)
    Fq = F[len(ys):]
    idx, lab, min_len = picking(Fq, ways, pic)
    cases.append(dict(ways=ways, embeddings=emb.ravel().tolist(), m=len(emb), d=d, supportLabels=ys, k=k, alpha=alpha,
                      sigma=sigma.tolist() if per_sample_sigma else 1.0, F=F.ravel().tolist(), picNum=pic,
                      pickIndices=[int(i) for i in idx], pickLabels=lab, minLen=min_len))
with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/pseudo-labels/label_propagation.py", "cases": cases}, fh)
print("wrote", OUT, [c["minLen"] for c in cases])
