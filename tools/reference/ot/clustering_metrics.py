"""scikit-learn / SciPy reference values for @distillery/ot's clustering metrics (Hungarian ACC and mACC as
rhfeiyang/PPOT `hungarian_evaluate`, NMI, ARI, macro F1) and k-means inertia on a separable mixture.

Run with Debian's interpreter: /usr/bin/python3 tools/reference/ot/clustering_metrics.py
Writes packages/ot/test/fixtures/clustering-metrics.json.
"""
import json
import os

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score

OUT = os.path.join(os.path.dirname(__file__), "../../../packages/ot/test/fixtures/clustering-metrics.json")
rng = np.random.default_rng(5)
cases = []
for n, k, noise in [(60, 4, 0.3), (200, 7, 0.5), (50, 3, 0.9)]:
    y = rng.integers(0, k, n)
    perm = rng.permutation(k)
    pred = perm[y].copy()
    flip = rng.random(n) < noise
    pred[flip] = rng.integers(0, k, flip.sum())
    M = np.zeros((k, k))
    for p, g in zip(pred, y):
        M[p, g] += 1
    rows, cols = linear_sum_assignment(n - M)
    remap = np.zeros(k, dtype=int)
    remap[rows] = cols
    rp = remap[pred]
    acc = float((rp == y).mean())
    macc = float(np.mean([(rp[y == c] == c).mean() for c in range(k) if (y == c).any()]))
    cases.append(dict(pred=pred.tolist(), target=y.tolist(), accuracy=acc, meanClassAccuracy=macc,
                      nmi=float(normalized_mutual_info_score(y, pred)), ari=float(adjusted_rand_score(y, pred)),
                      macroF1=float(f1_score(y, rp, average="macro", zero_division=0))))
with open(OUT, "w") as fh:
    json.dump({"generator": "tools/reference/ot/clustering_metrics.py", "cases": cases}, fh)
print("wrote", OUT, [(c["accuracy"], round(c["nmi"], 3)) for c in cases])
